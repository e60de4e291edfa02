import * as tf from '@tensorflow/tfjs-core';

type Numeric = tf.Tensor | number[] | Float32Array | Int32Array | number;

function toArray(x: Numeric): { values: Float64Array; shape: number[] | null } {
  if (x instanceof tf.Tensor) return { values: Float64Array.from(x.dataSync() as Float32Array), shape: x.shape };
  if (typeof x === 'number') return { values: Float64Array.of(x), shape: null };
  return { values: Float64Array.from(x as ArrayLike<number>), shape: null };
}

/** Largest |a − b| over all elements (NaN if either holds a NaN the other does not). */
export function maxAbsDiff(a: Numeric, b: Numeric): number {
  const x = toArray(a).values;
  const y = toArray(b).values;
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    if (Number.isNaN(x[i]) && Number.isNaN(y[i])) continue;
    const d = Math.abs(x[i] - y[i]);
    if (!(d <= m)) m = d;
  }
  return m;
}

/**
 * Asserts equal shapes (when both are tensors) and |actual − expected| ≤ atol + rtol·|expected|
 * elementwise, as numpy.allclose (NaN equals NaN). Reports the worst element on failure.
 */
export function expectAllClose(actual: Numeric, expected: Numeric, { rtol = 1e-5, atol = 1e-6 } = {}): void {
  const a = toArray(actual);
  const e = toArray(expected);
  if (a.shape && e.shape) expect(a.shape).toEqual(e.shape);
  expect(a.values.length).toBe(e.values.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < a.values.length; i++) {
    const x = a.values[i];
    const y = e.values[i];
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    if (x === y) continue;
    const excess = Math.abs(x - y) - (atol + rtol * Math.abs(y));
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    throw new Error(
      `expectAllClose: element ${worst} is ${a.values[worst]}, expected ${e.values[worst]} ` +
        `(|diff| ${Math.abs(a.values[worst] - e.values[worst])}, rtol ${rtol}, atol ${atol})`,
    );
  }
}
