import * as tf from '@tensorflow/tfjs-core';
import { defaultGenerator, type Generator } from '../generator.js';
import { checkProbability, type DropoutOptions } from './dropout.js';
import { Module } from './module.js';

/**
 * Stochastic depth per sample (timm's DropPath): in training each sample of the batch (dim 0)
 * is zeroed with probability p, the rest scaled by 1/(1−p) — timm's floor(keep + U[0,1)) mask.
 * In eval (or p = 0) the output is a clone of x. Used on residual branches.
 */
export class DropPath extends Module {
  readonly p: number;
  private readonly generator: Generator | undefined;

  constructor(p = 0, options: DropoutOptions = {}) {
    super();
    checkProbability(p, 'DropPath');
    this.p = p;
    this.generator = options.generator;
  }

  /** x [N, ...] → same shape; caller owns the result. Draws N uniforms in training. */
  forward<T extends tf.Tensor>(x: T): T {
    if (!this.training || this.p === 0) return tf.clone(x);
    const keepProb = 1 - this.p;
    const maskShape = x.shape.map((d, i) => (i === 0 ? d : 1));
    const noise = (this.generator ?? defaultGenerator()).uniform(maskShape);
    return tf.tidy(() => {
      const mask = tf.floor(tf.add(noise, keepProb)); // 1 with probability keepProb
      noise.dispose();
      // p = 1 keeps nothing: skip the 0/0 and return zeros.
      return (keepProb === 0 ? tf.zerosLike(x) : tf.mul(tf.div(x, keepProb), mask)) as T;
    });
  }
}
