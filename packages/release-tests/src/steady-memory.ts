import * as tf from '@tensorflow/tfjs-core';

/** tf.memory()'s two counters that a call must leave as it found them. */
export interface MemoryCounters {
  numTensors: number;
  numBytes: number;
}

/** What {@link measureRepeatedCalls} saw: the counters after the warm-up call and after the last call. */
export interface RepeatedCallsMemory {
  before: MemoryCounters;
  after: MemoryCounters;
}

/**
 * Disposes every tensor found in `value`: a tensor, or nested arrays, Maps, Sets and plain objects
 * (class instances other than tensors are not entered: a model is never an output). Already
 * disposed tensors are skipped.
 */
export function disposeOutputs(value: unknown, seen = new Set<unknown>()): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (value instanceof tf.Tensor) {
    if (!value.isDisposed) value.dispose();
  } else if (Array.isArray(value) || value instanceof Set) {
    for (const v of value) disposeOutputs(v, seen);
  } else if (value instanceof Map) {
    for (const v of value.values()) disposeOutputs(v, seen);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) disposeOutputs(v, seen);
  }
}

/**
 * Calls `fn` once as a warm-up (caches such as anchor grids and optimiser state may fill then),
 * reads tf.memory(), calls it `times` more times disposing each output with {@link disposeOutputs},
 * and reads tf.memory() again. A call that leaks k tensors shows as `times · k` more tensors.
 * `fn` must not dispose its inputs; its outputs are the caller's (this helper's) to dispose.
 */
export async function measureRepeatedCalls(times: number, fn: () => unknown): Promise<RepeatedCallsMemory> {
  if (!Number.isInteger(times) || times < 1) {
    throw new RangeError(`measureRepeatedCalls: times must be a positive integer, got ${times}`);
  }
  disposeOutputs(await fn());
  const counters = (): MemoryCounters => {
    const m = tf.memory();
    return { numTensors: m.numTensors, numBytes: m.numBytes };
  };
  const before = counters();
  for (let i = 0; i < times; i++) disposeOutputs(await fn());
  return { before, after: counters() };
}
