/**
 * `np.mean` of a float64 vector with numpy's own summation order, so that means agree to the last bit
 * (COCOeval's summary rounds them to 3 decimals): the reduction walks buffers of 8192 values, each
 * summed pairwise (blocks of ≤ 128 values with 8 accumulators, numpy's `pairwise_sum`). NaN for none.
 */
export function numpyMean(values: ArrayLike<number>): number {
  const n = values.length;
  let sum = 0;
  for (let start = 0; start < n; start += BUFFER) {
    sum += pairwiseSum(values, start, n - start < BUFFER ? n - start : BUFFER);
  }
  return sum / n;
}

const BUFFER = 8192; // numpy's default ufunc buffer size
const BLOCK = 128; // PW_BLOCKSIZE in numpy's loops_utils

function pairwiseSum(a: ArrayLike<number>, start: number, n: number): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[start + i];
    return res;
  }
  if (n <= BLOCK) {
    const r = [0, 1, 2, 3, 4, 5, 6, 7].map((j) => a[start + j]);
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j] += a[start + i + j];
    }
    let res = r[0] + r[1] + (r[2] + r[3]) + (r[4] + r[5] + (r[6] + r[7]));
    for (; i < n; i++) res += a[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
}
