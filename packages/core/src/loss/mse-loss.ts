import * as tf from '@tensorflow/tfjs-core';
import { applyReduction, checkPair, checkReduction, type ReductionOptions } from './reduction.js';

/**
 * Mean squared error (x − y)², as torch.nn.functional.mse_loss.
 * `input` and `target` are float32 of one shape (any rank). Returns a Scalar for 'mean'/'sum'
 * or a tensor of the input's shape for 'none'; caller owns. Differentiable w.r.t. both.
 */
export function mseLoss(input: tf.Tensor, target: tf.Tensor, options?: { reduction?: 'mean' | 'sum' }): tf.Scalar;
export function mseLoss(input: tf.Tensor, target: tf.Tensor, options: { reduction: 'none' }): tf.Tensor;
export function mseLoss(input: tf.Tensor, target: tf.Tensor, options?: ReductionOptions): tf.Tensor;
export function mseLoss(input: tf.Tensor, target: tf.Tensor, { reduction = 'mean' }: ReductionOptions = {}): tf.Tensor {
  checkReduction(reduction, 'mseLoss');
  checkPair(input, target, 'mseLoss');
  return tf.tidy(() => applyReduction(tf.squaredDifference(input, target), reduction));
}
