import * as tf from '@tensorflow/tfjs-core';
import { Generator } from '@residual/core';

// Generators for tests. Core's Generator draws in JS, and inside jest's vm context every global
// `Math.*` lookup costs ~0.4 µs, so a full ResNet's ~50M draws take minutes there (not in Node).

/**
 * Tensor draws are zeros: for models whose every weight is then overwritten (formula weights).
 */
export class NoDrawGenerator extends Generator {
  override uniform(shape: number[]): tf.Tensor {
    return tf.zeros(shape);
  }

  override normalTensor(shape: number[]): tf.Tensor {
    return tf.zeros(shape);
  }
}

/**
 * Deterministic stand-in that makes the init's parameters visible: a normal draw is filled with its
 * std and a uniform draw with its upper bound, so a weight shows exactly which scale it was given.
 */
export class ScaleGenerator extends Generator {
  override uniform(shape: number[], _low = 0, high = 1): tf.Tensor {
    return tf.fill(shape, high);
  }

  override normalTensor(shape: number[], _mean = 0, std = 1): tf.Tensor {
    return tf.fill(shape, std);
  }
}

// Bound once: global lookups are what makes draws slow inside jest (see above).
const { imul, log, cos, sqrt, PI } = Math;

/**
 * Seeded pseudo-random draws from a counter hash (murmur3's fmix32), fast inside jest: for tests
 * that need real random weights (training), not for statistics.
 */
export class HashGenerator extends Generator {
  private counter: number;

  constructor(seed: number) {
    super(seed);
    this.counter = imul(seed + 1, 0x9e3779b9) >>> 0;
  }

  private nextUnit(): number {
    let h = (this.counter = (this.counter + 1) >>> 0);
    h ^= h >>> 16;
    h = imul(h, 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
    h = imul(h, 0xc2b2ae35) >>> 0;
    h ^= h >>> 16;
    return ((h >>> 0) + 0.5) / 4294967296; // (0, 1)
  }

  override uniform(shape: number[], low = 0, high = 1): tf.Tensor {
    const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < values.length; i++) values[i] = low + (high - low) * this.nextUnit();
    return tf.tensor(values, shape, 'float32');
  }

  override normalTensor(shape: number[], mean = 0, std = 1): tf.Tensor {
    const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < values.length; i++) {
      values[i] = mean + std * sqrt(-2 * log(this.nextUnit())) * cos(2 * PI * this.nextUnit());
    }
    return tf.tensor(values, shape, 'float32');
  }
}
