import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, ValueError, formatShape } from '@residual/core';

/**
 * Images NHWC [N, H, W, C] (H = W, divisible by p) → patches [N, L, p·p·C], L = (H/p)², as the
 * official MAE `patchify`: patch `l = i·w + j` is grid row i, column j (row-major), and inside a
 * patch the value of pixel (py, px), channel c is at `(py·p + px)·C + c` (channel fastest).
 * Caller owns the result.
 */
export function patchify(imgs: tf.Tensor4D, patchSize: number): tf.Tensor3D {
  if (imgs.rank !== 4) {
    throw new ShapeError(`patchify: imgs must be NHWC [N,H,W,C], got ${formatShape(imgs.shape)}`);
  }
  const [n, h, w, c] = imgs.shape;
  checkPatchSize(patchSize, 'patchify');
  if (h !== w || h % patchSize !== 0) {
    throw new ShapeError(
      `patchify: imgs must be square with a side divisible by patchSize ${patchSize}, got ${h}×${w}`,
    );
  }
  const g = h / patchSize;
  return tf.tidy(() => {
    const x = tf.reshape(imgs, [n, g, patchSize, g, patchSize * c]); // [N, h, p, w, p·C]
    const t = tf.transpose(x, [0, 1, 3, 2, 4]); // [N, h, w, p, p·C]
    return tf.reshape(t, [n, g * g, patchSize * patchSize * c]);
  });
}

/**
 * Exact inverse of {@link patchify}: patches [N, L, p·p·C] (L a perfect square) → images NHWC
 * [N, √L·p, √L·p, C]. Caller owns the result.
 */
export function unpatchify(x: tf.Tensor3D, patchSize: number, channels = 3): tf.Tensor4D {
  checkPatchSize(patchSize, 'unpatchify');
  const patchDim = patchSize * patchSize * channels;
  if (x.rank !== 3 || x.shape[2] !== patchDim) {
    throw new ShapeError(`unpatchify: x must be [N,L,${patchDim}] (p·p·C), got ${formatShape(x.shape)}`);
  }
  const [n, len] = x.shape;
  const g = Math.round(Math.sqrt(len));
  if (g * g !== len) {
    throw new ShapeError(`unpatchify: the number of patches L must be a perfect square, got ${len}`);
  }
  return tf.tidy(() => {
    const t = tf.reshape(x, [n, g, g, patchSize, patchSize * channels]); // [N, h, w, p, p·C]
    const y = tf.transpose(t, [0, 1, 3, 2, 4]); // [N, h, p, w, p·C]
    return tf.reshape(y, [n, g * patchSize, g * patchSize, channels]);
  });
}

function checkPatchSize(patchSize: number, where: string): void {
  if (!Number.isInteger(patchSize) || patchSize <= 0) {
    throw new ValueError(`${where}: patchSize must be a positive integer, got ${patchSize}`);
  }
}
