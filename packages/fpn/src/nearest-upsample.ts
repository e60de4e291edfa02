import * as tf from '@tensorflow/tfjs-core';

const { floor, fround, min } = Math;

/**
 * Source index of every output index for torch's legacy 'nearest' interpolation from `inSize` to
 * `outSize` (upsample_nearest2d): identity when equal, `dst >> 1` for exactly 2×, otherwise
 * `min(floor(dst · f32(in/out)), in − 1)` with the scale and the product in float32.
 */
export function nearestSourceIndices(inSize: number, outSize: number): Int32Array {
  const out = new Int32Array(outSize);
  const scale = fround(inSize / outSize);
  for (let d = 0; d < outSize; d++) {
    if (outSize === inSize) out[d] = d;
    else if (outSize === 2 * inSize) out[d] = d >> 1;
    else out[d] = min(floor(fround(d * scale)), inSize - 1);
  }
  return out;
}

/**
 * Resizes x [N,h,w,C] (NHWC) to [N,H,W,C] with torch's `F.interpolate(mode='nearest')` exactly, by
 * gathering rows then columns at {@link nearestSourceIndices} (differentiable through tf.gather).
 * New tensor, caller owns; x is kept.
 */
export function upsampleNearest(x: tf.Tensor4D, size: readonly [number, number]): tf.Tensor4D {
  const [, h, w] = x.shape;
  const [oh, ow] = size;
  return tf.tidy(() => {
    const rows = h === oh ? x : tf.gather(x, nearestSourceIndices(h, oh), 1);
    return (w === ow ? tf.clone(rows) : tf.gather(rows, nearestSourceIndices(w, ow), 2)) as tf.Tensor4D;
  });
}
