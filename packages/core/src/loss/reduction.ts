import * as tf from '@tensorflow/tfjs-core';
import { ValueError, ShapeError, formatShape } from '../errors.js';

/** How a loss reduces its per-element values, as torch's `reduction` argument. */
export type Reduction = 'mean' | 'sum' | 'none';

/** Options shared by every loss: `reduction` defaults to 'mean', as in torch. */
export interface ReductionOptions {
  reduction?: Reduction;
}

/**
 * Reduces per-element losses: 'mean' → Scalar mean, 'sum' → Scalar sum, 'none' → `loss` itself.
 * Call inside a tidy; the result is a new tensor (or `loss` for 'none').
 */
export function applyReduction(loss: tf.Tensor, reduction: Reduction): tf.Tensor {
  if (reduction === 'mean') return tf.mean(loss);
  if (reduction === 'sum') return tf.sum(loss);
  return loss;
}

/** Throws a ValueError unless `reduction` is 'mean', 'sum' or 'none'. */
export function checkReduction(reduction: string, where: string): asserts reduction is Reduction {
  if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none') {
    throw new ValueError(`${where}: reduction must be 'mean', 'sum' or 'none', got '${reduction}'`);
  }
}

/**
 * Checks that `input` and `target` are float32 tensors of one shape (torch would broadcast with a
 * warning; residual refuses, because a broadcast there is almost always a bug).
 */
export function checkPair(input: tf.Tensor, target: tf.Tensor, where: string): void {
  if (input.dtype !== 'float32') throw new ShapeError(`${where}: input must be float32, got ${input.dtype}`);
  if (target.dtype !== 'float32') throw new ShapeError(`${where}: target must be float32, got ${target.dtype}`);
  if (!tf.util.arraysEqual(input.shape, target.shape)) {
    throw new ShapeError(
      `${where}: target must have the input's shape ${formatShape(input.shape)}, got ${formatShape(target.shape)}`,
    );
  }
}
