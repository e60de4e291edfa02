import * as tf from '@tensorflow/tfjs-core';
import { Generator } from '@residual/core';

// The deterministic weights of tools/fixtures/faster_rcnn.py and mask_rcnn.py (`formula_value`): every value is a
// function of its state-dict key and index, so full-size models need no committed weights.

const { imul, sqrt } = Math; // bound once: global lookups are slow inside jest's vm context

/** [key, torch shape] in state-dict order. */
export type KeyList = Array<[string, number[]]>;

/** FNV-1a (32-bit) of the UTF-8 key, mod 1000. */
export function phase(key: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(key)) {
    h ^= b;
    h = imul(h, 0x01000193) >>> 0;
  }
  return h % 1000;
}

const GAINS: Record<string, number> = { cls_score: 3, fc6: 2, fc7: 2 };

/** The formula value of one entry in torch layout (caller disposes). */
export function formulaTensor(key: string, shape: number[]): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const p = (7919 * phase(key)) >>> 0;
  const parts = key.split('.');
  const leaf = parts[parts.length - 1];
  let scale = 0;
  let offset = 0;
  if (leaf === 'weight' && shape.length === 4) scale = sqrt(6 / (shape[1] * shape[2] * shape[3]));
  else if (leaf === 'weight' && shape.length === 2) scale = (GAINS[parts[parts.length - 2]] ?? 1) * sqrt(3 / shape[1]);
  else if (leaf === 'weight') [scale, offset] = [0.2, 0.5];
  else if (leaf === 'bias' || leaf === 'running_mean') scale = 0.1;
  else if (leaf === 'running_var') [scale, offset] = [0.3, 1];
  else throw new Error(`formulaTensor: no formula for "${key}"`);
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const h = (imul(i, 2654435761 | 0) + p) >>> 0; // (i·2654435761 + 7919·phase) mod 2^32
    values[i] = offset + scale * ((h / 4294967296) * 2 - 1);
  }
  return tf.tensor(values, shape, 'float32');
}

/** Loads the formula weights for every key into `model` (strict). */
export function loadFormulaWeights(model: { loadStateDict(d: Map<string, tf.Tensor>): unknown }, keys: KeyList): void {
  const dict = new Map(keys.map(([k, s]) => [k, formulaTensor(k, s)] as [string, tf.Tensor]));
  try {
    model.loadStateDict(dict);
  } finally {
    for (const t of dict.values()) t.dispose();
  }
}

/** A Generator whose tensor draws are zeros, for models whose weights are all overwritten afterwards. */
export class NoDrawGenerator extends Generator {
  override uniform(shape: number[]): tf.Tensor {
    return tf.zeros(shape);
  }

  override normalTensor(shape: number[]): tf.Tensor {
    return tf.zeros(shape);
  }
}
