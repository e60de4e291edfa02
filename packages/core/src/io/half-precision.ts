/**
 * Bit-level conversions between float32 and the two 16-bit float formats of safetensors
 * (IEEE binary16 "F16" and bfloat16 "BF16"). Encoding rounds to nearest, ties to even, as
 * c10::Half and c10::BFloat16 do, NaN included: torch writes F16 NaN as sign|0x7E00 and BF16
 * NaN as 0x7FC0, and so do these.
 */

/** Float32 bit pattern of an F16 bit pattern (exact for numbers, subnormals and ±0 included; NaN stays NaN). */
export function halfBitsToFloatBits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) {
    // Inf, or NaN made quiet with its payload kept, as the F16C conversion torch uses on x86.
    return (sign | (mant === 0 ? 0x7f800000 : 0x7fc00000 | (mant << 13))) >>> 0;
  }
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  // Subnormal: mant·2^-24; shift the leading one up to the implicit bit, lowering the exponent.
  let e = 113;
  while ((mant & 0x400) === 0) {
    mant <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((mant & 0x3ff) << 13)) >>> 0;
}

/** F16 bit pattern of a float32 bit pattern, rounded to nearest even; overflow gives ±Inf. */
export function floatBitsToHalfBits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | (mant !== 0 ? 0x7e00 : 0x7c00);
  const e = exp - 112; // re-biased exponent: 127 → 15
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal (2^-25): rounds to ±0
    // Subnormal result in units of 2^-24: m·2^(exp-126), m the 24-bit significand.
    const m = mant | 0x800000;
    const s = 126 - exp;
    let h = m >>> s;
    const rem = m & ((1 << s) - 1);
    const halfway = 1 << (s - 1);
    if (rem > halfway || (rem === halfway && (h & 1) === 1)) h++;
    return sign | h; // a carry to 0x400 is the smallest normal, encoded correctly
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++; // a carry may reach Inf: correct
  return sign | h;
}

/** BF16 bit pattern of a float32 bit pattern, rounded to nearest even; NaN → 0x7FC0 as c10. */
export function floatBitsToBfloat16Bits(x: number): number {
  if ((x & 0x7fffffff) > 0x7f800000) return 0x7fc0;
  const bias = 0x7fff + ((x >>> 16) & 1);
  return ((x >>> 0) + bias) >>> 16;
}
