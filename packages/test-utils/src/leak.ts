import * as tf from '@tensorflow/tfjs-core';

/** The live tensor count (tf.memory().numTensors). */
export function countTensors(): number {
  return tf.memory().numTensors;
}

/**
 * Runs `fn`, disposes every tensor it returns (found anywhere in a nested record/array/Map),
 * and fails unless the tensor count and bytes are back where they started.
 * Returns what `fn` returned (already disposed) so callers can still inspect non-tensor fields.
 */
export async function expectNoLeak<T>(fn: () => T | Promise<T>): Promise<T> {
  const before = tf.memory();
  const result = await fn();
  disposeAll(result);
  const after = tf.memory();
  expect({ numTensors: after.numTensors, numBytes: after.numBytes }).toEqual({
    numTensors: before.numTensors,
    numBytes: before.numBytes,
  });
  return result;
}

function disposeAll(value: unknown, seen = new Set<unknown>()): void {
  if (value == null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (value instanceof tf.Tensor) {
    if (!value.isDisposed) value.dispose();
    return;
  }
  if (value instanceof Map) {
    for (const v of value.values()) disposeAll(v, seen);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) disposeAll(v, seen);
    return;
  }
  if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) disposeAll(v, seen);
  }
}
