import * as tf from '@tensorflow/tfjs-core';
import { expectNoLeak, useBackend } from '@residual/test-utils';

beforeAll(async () => {
  await useBackend();
});

describe('reductions over zero elements on wasm', () => {
  it('sum gives 0, prod 1, mean NaN, max and min NaN', async () => {
    await expectNoLeak(() => {
      const x = tf.zeros([0, 3]);
      const out = [tf.sum(x), tf.prod(x), tf.mean(x), tf.max(x), tf.min(x)];
      expect(out.map((t) => t.dataSync()[0])).toEqual([0, 1, NaN, NaN, NaN]);
      x.dispose();
      return out;
    });
  });

  it('keeps the shape of a partial reduction, with or without keepDims', async () => {
    await expectNoLeak(() => {
      const x = tf.zeros([0, 3]);
      const a = tf.sum(x, 0);
      const b = tf.sum(x, 0, true);
      const y = tf.zeros([2, 0]);
      const c = tf.sum(y, 1);
      expect([a.shape, b.shape, c.shape]).toEqual([[3], [1, 3], [2]]);
      expect([...a.dataSync(), ...b.dataSync(), ...c.dataSync()]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
      tf.dispose([x, y]);
      return [a, b, c];
    });
  });

  it('leaves non-empty reductions to the native kernel', () => {
    const r = tf.sum(tf.tensor2d([[1, 2], [3, 4]]), 1);
    expect(Array.from(r.dataSync())).toEqual([3, 7]);
    r.dispose();
  });

  it('gives the sum of an empty int32 tensor as int32', () => {
    const r = tf.sum(tf.zeros([0], 'int32'));
    expect(r.dtype).toBe('int32');
    expect(r.dataSync()[0]).toBe(0);
    r.dispose();
  });
});
