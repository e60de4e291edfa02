import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '@residual/test-utils';
import { disposeOutputs, measureRepeatedCalls } from './steady-memory.js';

describe('measureRepeatedCalls (the leak suite\'s probe)', () => {
  beforeAll(async () => {
    await useBackend();
  });

  it('sees a call that keeps one 4-byte tensor as `times` more tensors and 4·times more bytes', async () => {
    const kept: tf.Tensor[] = [];
    const { before, after } = await measureRepeatedCalls(7, () => {
      kept.push(tf.scalar(1)); // the leak: never returned, never disposed
      return tf.ones([3]);
    });
    expect({ tensors: after.numTensors - before.numTensors, bytes: after.numBytes - before.numBytes }).toEqual({ tensors: 7, bytes: 28 });
    tf.dispose(kept);
  });

  it('disposes outputs nested in arrays, Maps, Sets and plain objects, and ignores a cache filled by the warm-up call', async () => {
    let cache: tf.Tensor | null = null;
    const { before, after } = await measureRepeatedCalls(5, async () => {
      cache ??= tf.zeros([10]);
      return { a: [tf.ones([2]), new Map([['b', tf.ones([2])]])], c: new Set([tf.ones([1])]), d: 3, e: null };
    });
    expect(after).toEqual(before);
    expect(cache).not.toBeNull();
    (cache as unknown as tf.Tensor).dispose();
  });

  it('skips tensors already disposed and leaves class instances alone', () => {
    const t = tf.ones([2]);
    t.dispose();
    class Holder {
      constructor(readonly tensor: tf.Tensor) {}
    }
    const held = new Holder(tf.ones([2]));
    expect(() => disposeOutputs([t, held])).not.toThrow();
    expect(held.tensor.isDisposed).toBe(false);
    held.tensor.dispose();
  });

  it('rejects a repeat count that is not a positive integer', async () => {
    await expect(measureRepeatedCalls(0, () => null)).rejects.toThrow(
      new RangeError('measureRepeatedCalls: times must be a positive integer, got 0'),
    );
  });
});
