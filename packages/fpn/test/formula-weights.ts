import * as tf from '@tensorflow/tfjs-core';

// The deterministic weights of tools/fixtures/fpn.py (the formula of tools/fixtures/resnet.py): every
// value is a function of its state-dict key and row-major index, so no weights are committed.

const { sin, sqrt } = Math;

/** FNV-1a (32-bit) of the UTF-8 key, mod 1000. */
function phase(key: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(key)) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % 1000;
}

/** The formula value of one state-dict entry, in torch layout (caller disposes). */
export function formulaTensor(key: string, shape: number[]): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const p = phase(key);
  const leaf = key.slice(key.lastIndexOf('.') + 1);
  let scale = 1;
  let offset = 0;
  if (leaf === 'weight' && shape.length === 4) scale = 2 / sqrt(shape[1] * shape[2] * shape[3]);
  else if (leaf === 'weight' && shape.length === 2) scale = 1 / sqrt(shape[1]);
  else if (leaf === 'weight') [scale, offset] = [0.2, 0.5];
  else if (leaf === 'bias' || leaf === 'running_mean') scale = 0.1;
  else if (leaf === 'running_var') [scale, offset] = [0.3, 1];
  else throw new Error(`formulaTensor: no formula for "${key}"`);
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = offset + scale * sin(0.37 * i + p);
  return tf.tensor(values, shape, 'float32');
}
