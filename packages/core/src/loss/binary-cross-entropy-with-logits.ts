import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, assertDtype, formatShape } from '../errors.js';
import { applyReduction, checkPair, checkReduction, type Reduction } from './reduction.js';

/** Options of {@link binaryCrossEntropyWithLogits}, as torch's. */
export interface BinaryCrossEntropyWithLogitsOptions {
  /** Default 'mean' over all elements. */
  reduction?: Reduction;
  /** Weight of the positive term, float32 broadcast over the last axis ([C] or [1]). Borrowed. */
  posWeight?: tf.Tensor;
}

/**
 * Sigmoid binary cross entropy on logits, as torch.nn.functional.binary_cross_entropy_with_logits:
 * ℓ = (1 − t)·z + (1 + (posWeight − 1)·t)·softplus(−z), which equals max(z,0) − z·t + log1p(exp(−|z|))
 * without posWeight and never overflows. `logits` and `targets` float32 of one shape (targets in
 * [0, 1], soft targets allowed). Returns a Scalar for 'mean'/'sum', or the input's shape for
 * 'none'; caller owns. Differentiable w.r.t. both; the gradient is σ(z) − t exactly, z = 0 included.
 */
export function binaryCrossEntropyWithLogits(
  logits: tf.Tensor,
  targets: tf.Tensor,
  options?: { reduction?: 'mean' | 'sum'; posWeight?: tf.Tensor },
): tf.Scalar;
export function binaryCrossEntropyWithLogits(
  logits: tf.Tensor,
  targets: tf.Tensor,
  options: { reduction: 'none'; posWeight?: tf.Tensor },
): tf.Tensor;
export function binaryCrossEntropyWithLogits(
  logits: tf.Tensor,
  targets: tf.Tensor,
  options?: BinaryCrossEntropyWithLogitsOptions,
): tf.Tensor;
export function binaryCrossEntropyWithLogits(
  logits: tf.Tensor,
  targets: tf.Tensor,
  { reduction = 'mean', posWeight }: BinaryCrossEntropyWithLogitsOptions = {},
): tf.Tensor {
  const where = 'binaryCrossEntropyWithLogits';
  checkReduction(reduction, where);
  checkPair(logits, targets, where);
  if (posWeight !== undefined) {
    assertDtype(posWeight, ['float32'], 'posWeight', where);
    const last = logits.shape[logits.rank - 1] ?? 1;
    if (posWeight.rank > 1 || (posWeight.size !== 1 && posWeight.size !== last)) {
      throw new ShapeError(`${where}: posWeight must be [${last}] or [1] (broadcast over the last axis), got ${formatShape(posWeight.shape)}`);
    }
  }
  return tf.tidy(() => {
    // logSigmoid(z) = −softplus(−z); its gradient σ(−z) is exact everywhere, unlike max/abs forms.
    const softplusNeg = tf.neg(tf.logSigmoid(logits));
    const positive =
      posWeight === undefined ? softplusNeg : tf.mul(tf.add(tf.mul(tf.sub(posWeight, 1), targets), 1), softplusNeg);
    const loss = tf.add(tf.mul(tf.sub(1, targets), logits), positive);
    return applyReduction(loss, reduction);
  });
}
