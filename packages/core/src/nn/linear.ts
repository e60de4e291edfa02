import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, ValueError, formatShape } from '../errors.js';
import { defaultGenerator, type Generator } from '../generator.js';
import { kaimingUniform } from './init.js';
import { identityLayout, linearLayout } from './layout.js';
import { Module } from './module.js';

/** Options of {@link Linear}. */
export interface LinearOptions {
  bias?: boolean;
  /** Source of the default init (default: the process-wide generator). */
  generator?: Generator;
}

/**
 * torch.nn.Linear: y = x·Wᵀ + b over the last dim. `weight` is stored as tfjs [in,out] and appears
 * in state dicts as torch's [out,in]; `bias` [out]. Default init: U(±1/√in) for both.
 */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** tfjs [in,out] (owned by this module). */
  readonly weight: tf.Variable;
  /** [out], or null without bias (owned by this module). */
  readonly bias: tf.Variable | null;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    for (const [name, v] of [['inFeatures', inFeatures], ['outFeatures', outFeatures]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new ValueError(`Linear: ${name} must be a positive integer, got ${v}`);
    }
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    const gen = options.generator ?? defaultGenerator();
    const w = kaimingUniform([outFeatures, inFeatures], { a: Math.sqrt(5) }, gen);
    this.weight = this.registerParameter('weight', tf.tidy(() => linearLayout.fromTorch(w)), linearLayout);
    w.dispose();
    const bound = 1 / Math.sqrt(inFeatures);
    this.bias = (options.bias ?? true) ? this.registerParameter('bias', gen.uniform([outFeatures], -bound, bound), identityLayout) : null;
  }

  /** x [..., in] (any rank ≥ 1) → [..., out]; caller owns the result. */
  forward<T extends tf.Tensor>(x: T): T {
    if (x.rank < 1 || x.shape[x.rank - 1] !== this.inFeatures) {
      throw new ShapeError(`Linear.forward: x must be [..., ${this.inFeatures}], got ${formatShape(x.shape)}`);
    }
    return tf.tidy(() => {
      const lead = x.shape.slice(0, -1);
      const rows = lead.reduce((a, b) => a * b, 1);
      let y: tf.Tensor = tf.matMul(tf.reshape(x, [rows, this.inFeatures]), this.weight as tf.Tensor2D);
      if (this.bias) y = tf.add(y, this.bias);
      return tf.reshape(y, [...lead, this.outFeatures]) as T;
    });
  }
}
