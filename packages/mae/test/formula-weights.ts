import * as tf from '@tensorflow/tfjs-core';

// Global lookups (`Math.imul`) cost ~0.4 µs each inside jest's vm context; bind them once.
const { sqrt, imul } = Math;

// The deterministic weights of tools/fixtures/mae_base.py (see its docstring): every value is a
// function of its state-dict key and index, so full-size parity needs no committed weights. The
// hash is the one of packages/resnet/test/formula-weights.ts; the per-key rules are MAE's.

/** FNV-1a (32-bit) of the UTF-8 key, mod 1000. */
function phase(key: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(key)) {
    h ^= b;
    h = imul(h, 0x01000193) >>> 0;
  }
  return h % 1000;
}

/** u[i] in [-1, 1) for i < n: murmur3's fmix32 of (i + 2654435761·phase(key)) mod 2³², as the script. */
export function hashedUniform(key: string, n: number): Float64Array {
  const p = phase(key);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let h = (i + 2654435761 * p) >>> 0; // exact below 2⁵³, then mod 2³²
    h ^= h >>> 16;
    h = imul(h, 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
    h = imul(h, 0xc2b2ae35) >>> 0;
    h ^= h >>> 16;
    out[i] = ((h >>> 0) / 4294967296) * 2.0 - 1.0;
  }
  return out;
}

/** The formula value of one MAE state-dict entry in torch layout (caller disposes). */
export function maeFormulaTensor(key: string, shape: number[]): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const u = hashedUniform(key, n);
  const leaf = key.slice(key.lastIndexOf('.') + 1);
  const values = new Float32Array(n);
  if (key === 'cls_token' || key === 'mask_token') {
    for (let i = 0; i < n; i++) values[i] = 0.02 * u[i];
  } else if (leaf === 'weight' && shape.length >= 2) {
    const amp = sqrt(3.0 / (n / shape[0]));
    for (let i = 0; i < n; i++) values[i] = u[i] * amp;
  } else if (leaf === 'weight') {
    for (let i = 0; i < n; i++) values[i] = 1.0 + 0.1 * u[i];
  } else if (leaf === 'bias') {
    for (let i = 0; i < n; i++) values[i] = 0.1 * u[i];
  } else {
    throw new Error(`maeFormulaTensor: no formula for "${key}"`);
  }
  return tf.tensor(values, shape, 'float32');
}
