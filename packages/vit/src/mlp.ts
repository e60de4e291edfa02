import * as tf from '@tensorflow/tfjs-core';
import { Dropout, GELU, Linear, Module, type Generator } from '@residual/core';

/** Options of {@link Mlp}. */
export interface MlpOptions {
  /** Hidden width; default inFeatures. */
  hiddenFeatures?: number;
  /** Output width; default inFeatures. */
  outFeatures?: number;
  /** Dropout after the activation and after fc2 (training only); default 0. */
  drop?: number;
  /** Draws the initial weights and the dropout masks; default core's defaultGenerator(). */
  generator?: Generator;
}

/**
 * The transformer MLP of timm 0.3.2: `fc1` → exact (erf) GELU → dropout → `fc2` → dropout.
 * Torch keys `fc1.weight` [hidden,in], `fc1.bias`, `fc2.weight` [out,hidden], `fc2.bias`.
 */
export class Mlp extends Module {
  readonly fc1: Linear;
  readonly act: GELU;
  readonly fc2: Linear;
  readonly drop: Dropout;

  constructor(inFeatures: number, options: MlpOptions = {}) {
    super();
    const hidden = options.hiddenFeatures ?? inFeatures;
    const out = options.outFeatures ?? inFeatures;
    const generator = options.generator;
    this.fc1 = this.registerModule('fc1', new Linear(inFeatures, hidden, { bias: true, generator }));
    this.act = this.registerModule('act', new GELU());
    this.fc2 = this.registerModule('fc2', new Linear(hidden, out, { bias: true, generator }));
    this.drop = this.registerModule('drop', new Dropout(options.drop ?? 0, { generator }));
  }

  /** [..., in] → [..., out]; caller owns the result. */
  forward<T extends tf.Tensor>(x: T): T {
    return tf.tidy(() => {
      const h = this.drop.forward(this.act.forward(this.fc1.forward(x)));
      return this.drop.forward(this.fc2.forward(h)) as T;
    });
  }
}
