import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, ValueError, formatShape } from '../errors.js';
import { Module } from './module.js';

/** Options of {@link LayerNorm} (torch's defaults; MAE's models pass eps 1e-6). */
export interface LayerNormOptions {
  eps?: number;
  /** Learnable `weight` (ones) and `bias` (zeros) of size normalizedShape (default true). */
  elementwiseAffine?: boolean;
}

/**
 * torch.nn.LayerNorm over the last dim: (x − μ)/√(σ² + eps)·γ + β with the biased variance.
 * Parameters `weight` and `bias` [normalizedShape].
 */
export class LayerNorm extends Module {
  readonly normalizedShape: number;
  readonly eps: number;
  /** γ, or null without elementwiseAffine (owned by this module). */
  readonly weight: tf.Variable | null;
  /** β, or null without elementwiseAffine (owned by this module). */
  readonly bias: tf.Variable | null;

  constructor(normalizedShape: number, options: LayerNormOptions = {}) {
    super();
    if (!Number.isInteger(normalizedShape) || normalizedShape < 1) {
      throw new ValueError(`LayerNorm: normalizedShape must be a positive integer, got ${normalizedShape}`);
    }
    this.normalizedShape = normalizedShape;
    this.eps = options.eps ?? 1e-5;
    const affine = options.elementwiseAffine ?? true;
    this.weight = affine ? this.registerParameter('weight', tf.ones([normalizedShape])) : null;
    this.bias = affine ? this.registerParameter('bias', tf.zeros([normalizedShape])) : null;
  }

  /** x [..., D] → same shape, normalised over D; caller owns the result. */
  forward<T extends tf.Tensor>(x: T): T {
    if (x.rank < 1 || x.shape[x.rank - 1] !== this.normalizedShape) {
      throw new ShapeError(`LayerNorm.forward: x must be [..., ${this.normalizedShape}], got ${formatShape(x.shape)}`);
    }
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, -1, true);
      let y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.eps)));
      if (this.weight && this.bias) y = tf.add(tf.mul(y, this.weight), this.bias);
      return y as T;
    });
  }
}
