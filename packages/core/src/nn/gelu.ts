import * as tf from '@tensorflow/tfjs-core';
import { ValueError } from '../errors.js';
import { Module } from './module.js';

/** Options of {@link GELU}. */
export interface GELUOptions {
  /** 'none' (default): exact erf form; 'tanh': torch's tanh approximation. */
  approximate?: 'none' | 'tanh';
}

/**
 * torch.nn.GELU: 0.5·x·(1 + erf(x/√2)), or with `approximate: 'tanh'`
 * 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). No parameters.
 */
export class GELU extends Module {
  readonly approximate: 'none' | 'tanh';

  constructor(options: GELUOptions = {}) {
    super();
    const approximate = options.approximate ?? 'none';
    if (approximate !== 'none' && approximate !== 'tanh') {
      throw new ValueError(`GELU: approximate must be 'none' or 'tanh', got "${String(approximate)}"`);
    }
    this.approximate = approximate;
  }

  /** Elementwise, same shape as x; caller owns the result. */
  forward<T extends tf.Tensor>(x: T): T {
    return tf.tidy(() => {
      const inner =
        this.approximate === 'none'
          ? tf.erf(tf.mul(x, Math.SQRT1_2))
          : tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI)));
      return tf.mul(tf.mul(x, 0.5), tf.add(inner, 1)) as T;
    });
  }
}
