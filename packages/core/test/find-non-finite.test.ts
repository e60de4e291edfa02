import * as tf from '@tensorflow/tfjs-core';
import { findNonFinite } from '@residual/core';
import { expectNoLeak, useBackend } from '@residual/test-utils';

beforeAll(async () => {
  await useBackend();
});

describe('findNonFinite', () => {
  it('names the first entry, flat index and value of a NaN or ±Infinity, in entry order', async () => {
    const tensors = new Map<string, tf.Tensor>([
      ['a', tf.tensor1d([1, 2, 3])],
      ['b', tf.tensor2d([[0, -Infinity], [NaN, 1]])],
      ['c', tf.tensor1d([Infinity])],
      ['d', tf.tensor1d([0, NaN])],
    ]);
    await expectNoLeak(() => {
      expect(findNonFinite(tensors)).toEqual({ key: 'b', index: 1, value: -Infinity });
      expect(findNonFinite([['c', tensors.get('c') as tf.Tensor], ['b', tensors.get('b') as tf.Tensor]])).toEqual({ key: 'c', index: 0, value: Infinity });
      expect(findNonFinite([['d', tensors.get('d') as tf.Tensor]])).toEqual({ key: 'd', index: 1, value: NaN });
    });
    tf.dispose([...tensors.values()]);
  });

  it('is undefined when every value is finite (float32 extremes, int32 and bool included) and leaves the tensors alone', () => {
    const tensors = new Map<string, tf.Tensor>([
      ['max', tf.tensor1d([3.4028234663852886e38, -3.4028234663852886e38, 1e-45])],
      ['int', tf.tensor1d([2147483647], 'int32')],
      ['bool', tf.tensor1d([true], 'bool')],
      ['empty', tf.zeros([0, 4])],
    ]);
    expect(findNonFinite(tensors)).toBeUndefined();
    expect([...tensors.values()].every((t) => !t.isDisposed)).toBe(true);
    tf.dispose([...tensors.values()]);
  });
});
