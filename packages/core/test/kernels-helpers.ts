// Shared by the kernels-*.test.ts files: seeded data and the cpu-backend oracle.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

/** Deterministic values in [-1, 1) from a 32-bit LCG (independent of any backend). */
export function seeded(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  let s = seed >>> 0;
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** Runs `fn` on the cpu backend, reads its result and switches back to wasm. */
export async function onCpu(fn: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend('cpu');
  try {
    const out = tf.tidy(fn);
    const list = Array.isArray(out) ? out : [out];
    const values = list.map((t) => Float32Array.from(t.dataSync()));
    tf.dispose(list);
    return values;
  } finally {
    await tf.setBackend('wasm');
  }
}

/** Runs `fn` on the wasm backend (the active one in these tests) and reads its result. */
export function onWasm(fn: () => tf.Tensor | tf.Tensor[]): Float32Array[] {
  expect(tf.getBackend()).toBe('wasm');
  const out = tf.tidy(fn);
  const list = Array.isArray(out) ? out : [out];
  const values = list.map((t) => Float32Array.from(t.dataSync()));
  tf.dispose(list);
  return values;
}
