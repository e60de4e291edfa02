import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, ValueError, defaultGenerator, formatShape, type Generator } from '@residual/core';
import { permuteRows } from './permute-rows.js';

/** Result of {@link randomMasking}; every tensor is new and owned by the caller. */
export interface RandomMaskingResult {
  /** Kept tokens [N, lenKeep, D], in ascending-noise order (not spatial order). */
  xMasked: tf.Tensor3D;
  /** [N, L] float32 in patch order: 1 = removed (masked), 0 = kept. */
  mask: tf.Tensor2D;
  /** [N, L] int32: the inverse of the per-sample shuffle (argsort of argsort of the noise). */
  idsRestore: tf.Tensor2D;
}

/**
 * Per-sample random masking by shuffling, as the official MAE `random_masking`: keep the
 * `lenKeep = trunc(L·(1 − maskRatio))` tokens with the smallest noise. `noise` [N, L] makes it
 * deterministic (pass torch's draws for parity); without it U[0,1) noise comes from `generator`.
 * The sort is done on the host (the noise is data, no gradient flows through it); ties, which
 * have probability 0 for continuous noise, keep the lower index first. Sync, so it runs inside
 * tf.variableGrads; the gradient reaches the kept tokens of `x`.
 */
export function randomMasking(
  x: tf.Tensor3D,
  maskRatio: number,
  noise?: tf.Tensor2D,
  generator: Generator = defaultGenerator(),
): RandomMaskingResult {
  if (x.rank !== 3) throw new ShapeError(`randomMasking: x must be [N,L,D], got ${formatShape(x.shape)}`);
  if (!(maskRatio >= 0 && maskRatio < 1)) {
    throw new ValueError(`randomMasking: maskRatio must be in [0, 1), got ${maskRatio}`);
  }
  const [n, len, d] = x.shape;
  if (noise && (noise.rank !== 2 || noise.shape[0] !== n || noise.shape[1] !== len)) {
    throw new ShapeError(`randomMasking: noise must be [${n},${len}] (N, L), got ${formatShape(noise.shape)}`);
  }
  // float64 product then truncation, as Python's int(L * (1 - mask_ratio)): 196·0.25 → 49.
  const lenKeep = Math.trunc(len * (1 - maskRatio));
  const values = noise ? noise.dataSync() : drawNoise(generator, n * len);
  const shuffle = new Int32Array(n * len);
  const mask = new Float32Array(n * len);
  const restore = new Int32Array(n * len);
  const order = new Int32Array(len);
  for (let b = 0; b < n; b++) {
    const base = b * len;
    for (let l = 0; l < len; l++) order[l] = l;
    order.sort((i, j) => values[base + i] - values[base + j] || i - j); // ids_shuffle: small noise = keep
    for (let k = 0; k < len; k++) {
      restore[base + order[k]] = k;
      mask[base + order[k]] = k < lenKeep ? 0 : 1;
      shuffle[base + k] = base + order[k];
    }
  }
  return tf.tidy(() => {
    // shuffle the rows of the flattened [N·L, D] tokens per sample, then keep the first lenKeep
    const shuffled = tf.reshape(permuteRows(tf.reshape(x, [n * len, d]), shuffle), [n, len, d]);
    return {
      xMasked: tf.slice(shuffled, [0, 0, 0], [n, lenKeep, d]) as tf.Tensor3D,
      mask: tf.tensor2d(mask, [n, len], 'float32'),
      idsRestore: tf.tensor2d(restore, [n, len], 'int32'),
    };
  });
}

function drawNoise(generator: Generator, size: number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) out[i] = generator.random();
  return out;
}
