import * as tf from '@tensorflow/tfjs-core';
import { expectNoLeak, useBackend } from '@residual/test-utils';
import { MaxPool2d, ValueError } from '@residual/core';

beforeAll(async () => {
  await useBackend();
});

describe('MaxPool2d', () => {
  it('pads with −∞ as torch, so negative inputs never see a padded 0', async () => {
    const pool = new MaxPool2d(3, { stride: 2, padding: 1 });
    const x = tf.tensor4d([-1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -11, -12, -13, -14, -15, -16], [1, 4, 4, 1]);
    await expectNoLeak(() => {
      const y = pool.forward(x);
      expect(y.shape).toEqual([1, 2, 2, 1]);
      expect(Array.from(y.dataSync())).toEqual([-1, -2, -5, -6]);
      return y;
    });
    x.dispose();
  });

  it('adds a last window over the edge in ceil mode (5 → 3 with k2 s2) but never one that starts in the padding', () => {
    const x = tf.tensor4d([1, 5, 2, 4, 3], [1, 1, 5, 1]);
    const floor = new MaxPool2d([1, 2]).forward(x);
    const ceil = new MaxPool2d([1, 2], { ceilMode: true }).forward(x);
    expect(Array.from(floor.dataSync())).toEqual([5, 4]);
    expect(Array.from(ceil.dataSync())).toEqual([5, 4, 3]);
    // 5 wide, k2 s2 p1, ceil: ⌈6/2⌉ + 1 = 4, but the 4th window would start at 6 ≥ 5 + 1, inside
    // the padding, so torch keeps 3.
    const padded = new MaxPool2d([1, 2], { stride: [1, 2], padding: [0, 1], ceilMode: true }).forward(x);
    expect(Array.from(padded.dataSync())).toEqual([1, 5, 4]); // windows [−∞,1], [5,2], [4,3]
    tf.dispose([x, floor, ceil, padded]);
  });

  it('takes dilated windows (k3, dilation 2 spans 5 cells)', () => {
    const x = tf.tensor4d([9, 0, 1, 0, 2, 0, 7], [1, 1, 7, 1]);
    const y = new MaxPool2d([1, 3], { stride: 1, dilation: [1, 2] }).forward(x);
    expect(Array.from(y.dataSync())).toEqual([9, 0, 7]); // taps {0,2,4}, {1,3,5}, {2,4,6}
    tf.dispose([x, y]);
  });

  it('sends each window\'s gradient to its first maximum, as torch, and leaks nothing', async () => {
    const pool = new MaxPool2d([1, 2], { stride: 1 });
    const x = tf.tensor4d([5, 5, 1], [1, 1, 3, 1]);
    await expectNoLeak(() => {
      const g = tf.grad((a: tf.Tensor) => tf.sum(pool.forward(a as tf.Tensor4D)))(x);
      // Windows [5,5] and [5,1]: each picks its first 5 (torch gives [1,1,0]; a last-max rule [0,2,0]).
      expect(Array.from(g.dataSync())).toEqual([1, 1, 0]);
      return g;
    });
    x.dispose();
  });

  it('rejects padding over half the kernel', () => {
    expect(() => new MaxPool2d(2, { padding: 2 })).toThrow(
      new ValueError('MaxPool2d: padding must be at most half the kernel size, got padding [2, 2] for kernel [2, 2]'),
    );
  });
});
