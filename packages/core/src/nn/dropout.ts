import * as tf from '@tensorflow/tfjs-core';
import { ValueError } from '../errors.js';
import { defaultGenerator, type Generator } from '../generator.js';
import { Module } from './module.js';

/** Options of {@link Dropout} and {@link DropPath}. */
export interface DropoutOptions {
  /** Source of the masks (default: the process-wide generator, read at each forward). */
  generator?: Generator;
}

/** Throws ValueError unless 0 ≤ p ≤ 1. */
export function checkProbability(p: number, where: string): void {
  if (!(p >= 0 && p <= 1)) throw new ValueError(`${where}: p must be in [0, 1], got ${p}`);
}

/**
 * torch.nn.Dropout (inverted): in training each element is zeroed with probability p and the
 * survivors scaled by 1/(1−p); in eval (or p = 0) the output is a clone of x.
 */
export class Dropout extends Module {
  readonly p: number;
  private readonly generator: Generator | undefined;

  constructor(p = 0.5, options: DropoutOptions = {}) {
    super();
    checkProbability(p, 'Dropout');
    this.p = p;
    this.generator = options.generator;
  }

  /** Same shape as x; caller owns the result. Draws x.size uniforms from the generator in training. */
  forward<T extends tf.Tensor>(x: T): T {
    if (!this.training || this.p === 0) return tf.clone(x);
    if (this.p === 1) return tf.zerosLike(x);
    const noise = (this.generator ?? defaultGenerator()).uniform(x.shape);
    return tf.tidy(() => {
      const keep = tf.cast(tf.greaterEqual(noise, this.p), x.dtype); // P(keep) = 1 − p
      noise.dispose();
      return tf.mul(x, tf.mul(keep, 1 / (1 - this.p))) as T;
    });
  }
}
