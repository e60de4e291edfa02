/**
 * Python's `'{:0.Nf}'.format(x)`: the exact binary value of `x` rounded half-to-even to `digits`
 * decimals (JS `toFixed` rounds exact ties away from zero: 0.0625 → "0.063" where Python prints
 * "0.062"). Negative values that round to zero keep their sign ("-0.000"), as in Python.
 */
export function formatFixed(x: number, digits: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const negative = x < 0 || Object.is(x, -0);
  const [mantissa, exponent] = decompose(negative ? -x : x); // |x| = mantissa · 2^exponent
  const scale = 10n ** BigInt(digits);
  let n: bigint;
  if (exponent >= 0) {
    n = (mantissa << BigInt(exponent)) * scale;
  } else {
    const num = mantissa * scale;
    const den = 1n << BigInt(-exponent);
    n = num / den;
    const twice = 2n * (num - n * den);
    if (twice > den || (twice === den && n % 2n === 1n)) n += 1n;
  }
  const s = n.toString().padStart(digits + 1, '0');
  const body = digits > 0 ? `${s.slice(0, s.length - digits)}.${s.slice(s.length - digits)}` : s;
  return negative ? `-${body}` : body;
}

function decompose(x: number): [bigint, number] {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  const fraction = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (biased === 0) return [fraction, -1074]; // subnormal
  return [fraction | (1n << 52n), biased - 1075];
}
