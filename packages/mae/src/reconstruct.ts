import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, formatShape } from '@residual/core';
import type { MaskedAutoencoderViT } from './masked-autoencoder.js';
import { patchify, unpatchify } from './patchify.js';

/** Options of {@link reconstruct}. */
export interface ReconstructOptions {
  /** Default 0.75. */
  maskRatio?: number;
  /** Masking noise [N, L] for a fixed mask; default drawn from the model's generator. */
  noise?: tf.Tensor2D;
}

/** What {@link reconstruct} returns: NHWC images in the input's (normalised) space, all new tensors the caller owns. */
export interface Reconstruction {
  /** Input with the removed patches set to 0, [N, H, W, C]. */
  masked: tf.Tensor4D;
  /** The model's prediction of every patch, [N, H, W, C] (un-normalised per patch with normPixLoss). */
  reconstruction: tf.Tensor4D;
  /** Visible patches from the input, removed ones from the reconstruction, [N, H, W, C]. */
  pasted: tf.Tensor4D;
  /** [N, L], 1 = removed. */
  mask: tf.Tensor2D;
}

/**
 * The paper's visualisation (demo/mae_visualize.ipynb `run_one_image`): runs the model on images
 * NHWC [N, H, W, C] (borrowed) and returns masked input, reconstruction and reconstruction with
 * the visible patches pasted back. With `normPixLoss` the predictions are per-patch normalised
 * pixels; they are mapped back with each target patch's mean and unbiased variance,
 * `pred·√(σ² + 1e-6) + μ`, the inverse of the loss's normalisation. Sync; caller owns the results.
 */
export function reconstruct(model: MaskedAutoencoderViT, images: tf.Tensor4D, options: ReconstructOptions = {}): Reconstruction {
  if (images.rank !== 4) throw new ShapeError(`reconstruct: images must be NHWC [N,H,W,C], got ${formatShape(images.shape)}`);
  return tf.tidy(() => {
    const { loss, pred, mask } = model.forward(images, { maskRatio: options.maskRatio ?? 0.75, noise: options.noise });
    loss.dispose();
    const p = model.patchSize;
    const c = model.inChans;
    let patches: tf.Tensor3D = pred; // [N, L, p·p·C]
    if (model.normPixLoss) {
      const target = patchify(images, p);
      const mean = tf.mean(target, -1, true);
      const variance = tf.div(tf.sum(tf.square(tf.sub(target, mean)), -1, true), target.shape[2] - 1); // unbiased
      patches = tf.add(tf.mul(pred, tf.sqrt(tf.add(variance, 1e-6))), mean) as tf.Tensor3D;
    }
    const reconstruction = unpatchify(patches, p, c);
    const [n, len] = mask.shape;
    const pixelMask = unpatchify(tf.broadcastTo(tf.reshape(mask, [n, len, 1]), [n, len, p * p * c]) as tf.Tensor3D, p, c);
    const masked = tf.mul(images, tf.sub(1, pixelMask)) as tf.Tensor4D;
    const pasted = tf.add(masked, tf.mul(reconstruction, pixelMask)) as tf.Tensor4D;
    return { masked, reconstruction, pasted, mask };
  });
}
