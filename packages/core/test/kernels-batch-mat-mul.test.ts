import * as tf from '@tensorflow/tfjs-core';
import { expectAllClose, expectNoLeak, useBackend } from '@residual/test-utils';
import { onCpu, onWasm, seeded } from './kernels-helpers.js';

// Sums of up to 37 products in a different order on each backend.
const TOL = { rtol: 1e-5, atol: 1e-5 };

beforeAll(async () => {
  await useBackend();
});

describe('BatchMatMul with transposed operands on wasm', () => {
  it.each([
    [false, true],
    [true, false],
    [true, true],
  ])('equals the cpu backend for transposeA=%s, transposeB=%s (batched, broadcast)', async (ta, tb) => {
    const run = () => {
      const a = tf.tensor3d(seeded(2 * 5 * 37, 1), ta ? [2, 37, 5] : [2, 5, 37]);
      const b = tf.tensor3d(seeded(1 * 37 * 4, 2), tb ? [1, 4, 37] : [1, 37, 4]);
      return tf.matMul(a, b, ta, tb);
    };
    const [expected] = await onCpu(run);
    const [actual] = onWasm(run);
    expectAllClose(actual, expected, TOL);
  });

  it('gives matMul gradients equal to the cpu backend, leaving no tensors', async () => {
    const grads = () => {
      const a = tf.tensor2d(seeded(6 * 7, 3), [6, 7]);
      const b = tf.tensor2d(seeded(7 * 3, 4), [7, 3]);
      return tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D), tf.tensor2d(seeded(18, 5), [6, 3]))))([a, b]);
    };
    const expected = await onCpu(grads);
    const actual = onWasm(grads);
    actual.forEach((g, i) => expectAllClose(g, expected[i], TOL));
    await expectNoLeak(() => {
      const a = tf.ones([4, 4]);
      const g = tf.grad((x: tf.Tensor) => tf.sum(tf.matMul(x as tf.Tensor2D, x as tf.Tensor2D, true, false)))(a);
      a.dispose();
      return g;
    });
  });
});
