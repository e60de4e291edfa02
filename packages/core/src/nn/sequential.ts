import * as tf from '@tensorflow/tfjs-core';
import { ValueError } from '../errors.js';
import type { Layer } from './forward.js';
import { Module } from './module.js';

/**
 * torch.nn.Sequential: children registered as "0", "1", … (so state-dict keys match torch's)
 * and `forward` chains them. Intermediate results are freed; the input is not disposed.
 */
export class Sequential extends Module {
  private readonly layers: Layer[];

  constructor(...modules: Layer[]) {
    super();
    this.layers = modules.map((m, i) => this.registerModule(String(i), m));
  }

  /** Number of children. */
  get length(): number {
    return this.layers.length;
  }

  /** Child `i` (borrowed; negative indexes count from the end). Throws ValueError out of range. */
  get(i: number): Layer {
    const j = i < 0 ? this.layers.length + i : i;
    if (!Number.isInteger(j) || j < 0 || j >= this.layers.length) {
      throw new ValueError(`Sequential.get: index ${i} out of range for ${this.layers.length} modules`);
    }
    return this.layers[j];
  }

  /** Iterates the children in order (borrowed). */
  [Symbol.iterator](): Iterator<Layer> {
    return this.layers[Symbol.iterator]();
  }

  /** x through every child in order; an empty Sequential returns a clone. Caller owns the result. */
  forward<T extends tf.Tensor>(x: T): T {
    return tf.tidy(() => this.layers.reduce<tf.Tensor>((h, layer) => layer.forward(h), tf.clone(x))) as T;
  }
}
