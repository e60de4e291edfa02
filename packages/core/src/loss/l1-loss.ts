import * as tf from '@tensorflow/tfjs-core';
import { applyReduction, checkPair, checkReduction, type ReductionOptions } from './reduction.js';

/**
 * Mean absolute error |x − y|, as torch.nn.functional.l1_loss.
 * `input` and `target` are float32 of one shape. Returns a Scalar for 'mean'/'sum' or a tensor of
 * the input's shape for 'none'; caller owns. The gradient at x = y is 0, as torch's sgn.
 */
export function l1Loss(input: tf.Tensor, target: tf.Tensor, options?: { reduction?: 'mean' | 'sum' }): tf.Scalar;
export function l1Loss(input: tf.Tensor, target: tf.Tensor, options: { reduction: 'none' }): tf.Tensor;
export function l1Loss(input: tf.Tensor, target: tf.Tensor, options?: ReductionOptions): tf.Tensor;
export function l1Loss(input: tf.Tensor, target: tf.Tensor, { reduction = 'mean' }: ReductionOptions = {}): tf.Tensor {
  checkReduction(reduction, 'l1Loss');
  checkPair(input, target, 'l1Loss');
  return tf.tidy(() => {
    const d = tf.sub(input, target);
    // d·sign(d) is exactly |d|, and its gradient is sign(d) (0 at d = 0, as torch); tf.abs's
    // gradient would be −1 there.
    return applyReduction(tf.mul(d, tf.sign(d)), reduction);
  });
}
