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
  return tf.tidy(() => applyReduction(elementwiseLoss(logits, targets, posWeight ?? tf.scalar(1)), reduction));
}

/**
 * (1 − t)·z + (1 + (p − 1)·t)·softplus(−z) elementwise, with its exact gradients: d/dz is
 * (1 − t) − w·σ(−z) (σ(z) − t when p = 1, also at z = 0, where max/abs forms give a subgradient).
 * A custom gradient that saves its inputs: tfjs's logSigmoid closes over its input without saving it,
 * so its backward pass fails once that input has been tidied away inside tf.variableGrads.
 */
const elementwiseLoss = tf.customGrad(((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [z, t, p, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([z, t, p]);
  const softplusNeg = tf.add(tf.relu(tf.neg(z)), tf.log1p(tf.exp(tf.neg(tf.abs(z))))); // softplus(−z), stable
  const w = tf.add(tf.mul(tf.sub(p, 1), t), 1);
  const value = tf.add(tf.mul(tf.sub(1, t), z), tf.mul(w, softplusNeg));
  const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
    const [zs, ts, ps] = saved;
    const ws = tf.add(tf.mul(tf.sub(ps, 1), ts), 1);
    const spNeg = tf.add(tf.relu(tf.neg(zs)), tf.log1p(tf.exp(tf.neg(tf.abs(zs)))));
    const dz = tf.mul(dy, tf.sub(tf.sub(1, ts), tf.mul(ws, tf.sigmoid(tf.neg(zs)))));
    const dt = tf.mul(dy, tf.sub(tf.mul(tf.sub(ps, 1), spNeg), zs));
    const dpFull = tf.mul(dy, tf.mul(ts, spNeg));
    // posWeight broadcasts over the last axis: reduce the others (and the last too when it is [1] or a scalar).
    const lastKept = ps.size !== 1;
    const axes = Array.from({ length: dpFull.rank - (lastKept ? 1 : 0) }, (_, i) => i);
    const dp = tf.reshape(axes.length ? tf.sum(dpFull, axes) : dpFull, ps.shape);
    return [dz, dt, dp];
  };
  return { value, gradFunc };
}) as Parameters<typeof tf.customGrad>[0]) as unknown as (z: tf.Tensor, t: tf.Tensor, p: tf.Tensor) => tf.Tensor;
