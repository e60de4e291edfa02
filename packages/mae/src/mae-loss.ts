import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, formatShape } from '@residual/core';

/**
 * MAE reconstruction loss (official `forward_loss`): mean squared error per patch, averaged over
 * the removed patches only (`Σ(perPatch·mask) / Σ(mask)` across the batch). `target` and `pred`
 * are [N, L, P] in patchify layout, `mask` [N, L] with 1 = removed. With `normPixLoss` each target
 * patch is first normalised by its own mean and unbiased variance: `(t − μ)/√(σ² + 1e-6)`.
 * Returns a new scalar the caller owns. Sync (runs inside tf.variableGrads).
 */
export function maeLoss(target: tf.Tensor3D, pred: tf.Tensor3D, mask: tf.Tensor2D, normPixLoss = false): tf.Scalar {
  const same = target.rank === 3 && pred.rank === 3 && target.shape.every((s, i) => s === pred.shape[i]);
  if (!same) {
    throw new ShapeError(
      `maeLoss: pred must have the shape of target [N,L,P], got pred ${formatShape(pred.shape)} and target ${formatShape(target.shape)}`,
    );
  }
  if (mask.rank !== 2 || mask.shape[0] !== target.shape[0] || mask.shape[1] !== target.shape[1]) {
    throw new ShapeError(
      `maeLoss: mask must be [${target.shape[0]},${target.shape[1]}] (N, L), got ${formatShape(mask.shape)}`,
    );
  }
  return tf.tidy(() => {
    let t: tf.Tensor = target;
    if (normPixLoss) {
      const count = target.shape[2];
      const mean = tf.mean(target, -1, true);
      const centred = tf.sub(target, mean);
      const variance = tf.div(tf.sum(tf.square(centred), -1, true), count - 1); // unbiased, as torch.var
      t = tf.div(centred, tf.sqrt(tf.add(variance, 1e-6)));
    }
    const perPatch = tf.mean(tf.square(tf.sub(pred, t)), -1); // [N, L]
    return tf.div(tf.sum(tf.mul(perPatch, mask)), tf.sum(mask)) as tf.Scalar;
  });
}
