import * as tf from '@tensorflow/tfjs-core';

// Global lookups (`Math.imul`) cost ~0.4 µs each inside jest's vm context; bind them once.
const { sqrt, imul } = Math;

// The deterministic weights of tools/fixtures/resnet.py (see its docstring), so that full-size
// models need no committed weights: every value is a function of its state-dict key and index.

/** A fixture's state-dict description: [key, torch shape, torch dtype] in torch's order. */
export type KeyList = Array<[string, number[], string]>;

/** FNV-1a (32-bit) of the UTF-8 key, mod 1000. */
export function phase(key: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(key)) {
    h ^= b;
    h = imul(h, 0x01000193) >>> 0;
  }
  return h % 1000;
}

/** u[i] in [-1, 1): murmur3's fmix32 of (i + 2654435761·phase) mod 2³², as the Python script. */
function hashedUniform(i: number, p: number): number {
  let h = (i + 2654435761 * p) >>> 0; // exact below 2⁵³, then mod 2³²
  h ^= h >>> 16;
  h = imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return ((h >>> 0) / 4294967296) * 2.0 - 1.0;
}

/** The formula value of one state-dict entry, in torch layout (caller disposes). */
export function formulaTensor(key: string, shape: number[], dtype: string): tf.Tensor {
  if (key.endsWith('num_batches_tracked')) return tf.zeros(shape, dtype === 'float32' ? 'float32' : 'int32');
  const n = shape.reduce((a, b) => a * b, 1);
  const p = phase(key);
  const leaf = key.slice(key.lastIndexOf('.') + 1);
  let f: (u: number) => number;
  if (leaf === 'weight' && shape.length === 4) {
    const amp = sqrt(6.0 / (shape[1] * shape[2] * shape[3]));
    f = (u) => u * amp;
  } else if (leaf === 'weight' && shape.length === 2) {
    const amp = sqrt(3.0 / shape[1]);
    f = (u) => u * amp;
  } else if (leaf === 'weight') {
    f = (u) => 0.5 + 0.2 * u;
  } else if (leaf === 'bias' || leaf === 'running_mean') {
    f = (u) => 0.1 * u;
  } else if (leaf === 'running_var') {
    f = (u) => 1.0 + 0.3 * u;
  } else {
    throw new Error(`formulaTensor: no formula for "${key}"`);
  }
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = f(hashedUniform(i, p));
  return tf.tensor(values, shape, 'float32');
}

/** Loads the formula weights for every key of `keys` into `model` (strict). */
export function loadFormulaWeights(model: { loadStateDict(d: Map<string, tf.Tensor>): unknown }, keys: KeyList): void {
  const dict = new Map(keys.map(([k, s, d]) => [k, formulaTensor(k, s, d)] as [string, tf.Tensor]));
  try {
    model.loadStateDict(dict);
  } finally {
    for (const t of dict.values()) t.dispose();
  }
}

