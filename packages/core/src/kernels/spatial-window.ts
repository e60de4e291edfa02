import * as tf from '@tensorflow/tfjs-core';

/**
 * Zero-pads (amount > 0) or crops (amount < 0) the two spatial axes of `x` [N, H, W, C] (NHWC):
 * `rows` = [before, after], `cols` = [before, after]. Returns `x` itself when every amount is 0;
 * call inside a `tf.tidy`.
 */
export function padOrCrop(
  x: tf.Tensor4D,
  [top, bottom]: readonly [number, number],
  [left, right]: readonly [number, number]
): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const rows = h + top + bottom;
  const cols = w + left + right;
  const r0 = Math.max(0, -top);
  const r1 = Math.min(h, h + bottom);
  const c0 = Math.max(0, -left);
  const c1 = Math.min(w, w + right);
  // The window lies entirely in the padding: nothing of x survives.
  if (r1 <= r0 || c1 <= c0) return tf.zeros([n, rows, cols, c], x.dtype);
  let t = x;
  if (r0 > 0 || c0 > 0 || r1 < h || c1 < w) t = tf.slice(t, [0, r0, c0, 0], [n, r1 - r0, c1 - c0, c]);
  const pads: Array<[number, number]> = [
    [0, 0],
    [Math.max(0, top), Math.max(0, bottom)],
    [Math.max(0, left), Math.max(0, right)],
    [0, 0],
  ];
  if (pads.some(([a, b]) => a > 0 || b > 0)) t = tf.pad(t, pads);
  return t;
}

/**
 * The part of `x` [N, H, W, C] (NHWC) a convolution described by `info` reads, zero-padded as the
 * forward pass padded it: row 0 is input row −padTop and there are exactly
 * (outHeight − 1)·strideHeight + (filterHeight − 1)·dilationHeight + 1 rows (likewise columns),
 * so rows the forward pass skipped (floor rounding) are cropped. Returns `x` itself when nothing
 * changes; call inside a `tf.tidy`.
 */
export function convWindow(x: tf.Tensor4D, info: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  const [, h, w] = x.shape;
  const { top, left } = info.padInfo;
  const rows = (info.outHeight - 1) * info.strideHeight + info.effectiveFilterHeight;
  const cols = (info.outWidth - 1) * info.strideWidth + info.effectiveFilterWidth;
  return padOrCrop(x, [top, rows - h - top], [left, cols - w - left]);
}

/**
 * Puts `sh − 1` zero rows after every row of t [N,H,W,C] (NHWC) and `sw − 1` zero columns after
 * every column → [N, H·sh, W·sw, C]: the adjoint of taking every sh-th row and sw-th column.
 * One rank-4 pad (wasm pads of rank 6 take a generic loop ~100× slower). Returns `t` itself when
 * both strides are 1; call inside a `tf.tidy`.
 */
export function spreadByStride(t: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return t;
  const [n, h, w, c] = t.shape;
  const cells = tf.pad(tf.reshape(t, [n * h, 1, w, c]), [[0, 0], [0, sh - 1], [0, 0], [0, (sw - 1) * c]]);
  return tf.reshape(cells, [n, h * sh, w * sw, c]);
}
