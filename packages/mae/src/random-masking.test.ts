import * as tf from '@tensorflow/tfjs-core';
import { Generator, ValueError } from '@residual/core';
import { expectNoLeak, useBackend } from '@residual/test-utils';
import { randomMasking } from './random-masking.js';

describe('randomMasking', () => {
  beforeAll(async () => {
    await useBackend();
  });

  it('keeps the smallest-noise tokens in noise order, with mask 1 = removed and the inverse shuffle', () => {
    // L = 4, ratio 0.5 → keep 2; ids_shuffle = argsort(noise) = [1, 3, 0, 2]
    const x = tf.tensor3d([0, 1, 10, 11, 20, 21, 30, 31], [1, 4, 2]);
    const noise = tf.tensor2d([[0.3, 0.1, 0.4, 0.2]]);
    const { xMasked, mask, idsRestore } = randomMasking(x, 0.5, noise);
    expect(xMasked.arraySync()).toEqual([[[10, 11], [30, 31]]]);
    expect(mask.arraySync()).toEqual([[1, 0, 1, 0]]);
    expect(idsRestore.dtype).toBe('int32');
    expect(idsRestore.arraySync()).toEqual([[2, 0, 3, 1]]);
    tf.dispose([x, noise, xMasked, mask, idsRestore]);
  });

  it.each([
    [196, 0.75, 49],
    [256, 0.75, 64],
    [196, 0.9, 19],
    [196, 0.5, 98],
  ])('keeps trunc(L·(1 − ratio)) tokens: L %i, ratio %f → %i', (len, ratio, keep) => {
    const x = tf.zeros([2, len, 1]) as tf.Tensor3D;
    const r = randomMasking(x, ratio, undefined, new Generator(0));
    expect(r.xMasked.shape).toEqual([2, keep, 1]);
    expect(Array.from(r.mask.dataSync()).reduce((a, b) => a + b, 0)).toBe(2 * (len - keep));
    tf.dispose([x, r.xMasked, r.mask, r.idsRestore]);
  });

  it('passes gradients to the kept tokens only', () => {
    const x = tf.tensor3d([1, 2, 3, 4, 5, 6], [2, 3, 1]);
    const noise = tf.tensor2d([[0.9, 0.1, 0.5], [0.2, 0.8, 0.3]]);
    const grad = tf.grad((t: tf.Tensor) => {
      const r = randomMasking(t as tf.Tensor3D, 0.5, noise); // keep 1 per sample
      tf.dispose([r.mask, r.idsRestore]);
      return tf.sum(tf.mul(r.xMasked, tf.tensor3d([10, 100], [2, 1, 1])));
    })(x);
    expect(Array.from(grad.dataSync())).toEqual([0, 10, 0, 100, 0, 0]);
    tf.dispose([x, noise, grad]);
  });

  it('returns three tensors and leaks nothing', async () => {
    const x = tf.zeros([2, 16, 4]) as tf.Tensor3D;
    await expectNoLeak(() => randomMasking(x, 0.75, undefined, new Generator(1)));
    x.dispose();
  });

  it('rejects a mask ratio outside [0, 1)', () => {
    const x = tf.zeros([1, 4, 2]) as tf.Tensor3D;
    expect(() => randomMasking(x, 1)).toThrow(ValueError);
    expect(() => randomMasking(x, 1)).toThrow('randomMasking: maskRatio must be in [0, 1), got 1');
    x.dispose();
  });
});
