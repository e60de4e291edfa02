import * as tf from '@tensorflow/tfjs-core';
import { expectAllClose, expectNoLeak, useBackend } from '@residual/test-utils';
import { AdaptiveAvgPool2d } from '@residual/core';

beforeAll(async () => {
  await useBackend();
});

describe('AdaptiveAvgPool2d', () => {
  it('averages torch\'s overlapping bins [⌊i·in/out⌋, ⌈(i+1)·in/out⌉) (5 → 3: [0,2), [1,4), [3,5))', async () => {
    const x = tf.tensor4d([1, 2, 3, 4, 5], [1, 1, 5, 1]);
    await expectNoLeak(() => {
      const y = new AdaptiveAvgPool2d([1, 3]).forward(x);
      expectAllClose(y, [1.5, 3, 4.5]);
      return y;
    });
    x.dispose();
  });

  it('is the global mean for output 1 and a plain average pool when sizes divide', () => {
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 4, 1]);
    const global = new AdaptiveAvgPool2d(1).forward(x);
    const halves = new AdaptiveAvgPool2d([1, 2]).forward(x);
    expect(global.shape).toEqual([1, 1, 1, 1]);
    expectAllClose(global, [4.5]);
    expectAllClose(halves, [3.5, 5.5]);
    tf.dispose([x, global, halves]);
  });
});
