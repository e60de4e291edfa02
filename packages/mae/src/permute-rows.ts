import * as tf from '@tensorflow/tfjs-core';
import { ValueError } from '@residual/core';

/**
 * Rows of x [R, D] in the order `perm` (a permutation of 0..R−1): `y[i] = x[perm[i]]`, as a new
 * tensor the caller owns. Its gradient is the gather with the inverse permutation, so training
 * needs no UnsortedSegmentSum (tf.gather's gradient, absent on wasm). Sync; the permutation is
 * host data (it comes from sorting noise), not a tensor.
 */
export function permuteRows(x: tf.Tensor2D, perm: Int32Array): tf.Tensor2D {
  const rows = x.shape[0];
  if (perm.length !== rows) {
    throw new ValueError(`permuteRows: perm must have one entry per row of x (${rows}), got ${perm.length}`);
  }
  const inverse = new Int32Array(rows).fill(-1);
  for (let i = 0; i < rows; i++) {
    const j = perm[i];
    if (!(j >= 0 && j < rows) || inverse[j] !== -1) {
      throw new ValueError(`permuteRows: perm must be a permutation of 0..${rows - 1}, got ${j} at ${i}`);
    }
    inverse[j] = i;
  }
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => ({
    value: tf.gather(args[0] as tf.Tensor, tf.tensor1d(perm, 'int32')),
    gradFunc: (dy: tf.Tensor) => tf.gather(dy, tf.tensor1d(inverse, 'int32')),
  }));
  return tf.tidy(() => op(x) as tf.Tensor2D);
}
