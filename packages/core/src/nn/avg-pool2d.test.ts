import * as tf from '@tensorflow/tfjs-core';
import { expectAllClose, useBackend } from '@residual/test-utils';
import { AvgPool2d } from '@residual/core';

beforeAll(async () => {
  await useBackend();
});

describe('AvgPool2d', () => {
  it('counts padded zeros by default and only real cells with countIncludePad false', () => {
    const x = tf.ones([1, 2, 2, 1]) as tf.Tensor4D;
    const incl = new AvgPool2d(3, { stride: 2, padding: 1 }).forward(x);
    const excl = new AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false }).forward(x);
    expectAllClose(incl, [4 / 9]);
    expectAllClose(excl, [1]);
    tf.dispose([x, incl, excl]);
  });
});
