import * as tf from '@tensorflow/tfjs-core';
import { expectAllClose, expectNoLeak, useBackend } from '@residual/test-utils';
import { binaryCrossEntropyWithLogits } from '@residual/core';

beforeAll(async () => {
  await useBackend();
});

describe('binaryCrossEntropyWithLogits', () => {
  it('differentiates logits that were tidied away before the backward pass', async () => {
    const w = tf.variable(tf.tensor1d([0.5, -1, 0]));
    const t = tf.tensor1d([1, 0, 1]);
    await expectNoLeak(() => {
      // The logits live only inside the tidy, as in a detector's loss function.
      const { value, grads } = tf.variableGrads(() => tf.tidy(() => binaryCrossEntropyWithLogits(tf.mul(w, 2), t)), [w]);
      const sigma = (z: number) => 1 / (1 + Math.exp(-z));
      const expected = [0.5, -1, 0].map((v, i) => (2 * (sigma(2 * v) - [1, 0, 1][i])) / 3);
      expectAllClose(grads[w.name], expected, { rtol: 1e-6, atol: 1e-7 });
      return [value, grads];
    });
    tf.dispose([w, t]);
  });

  it('gives the exact gradient σ(z) − t at z = 0', async () => {
    const z = tf.zeros([2]);
    const t = tf.tensor1d([1, 0]);
    await expectNoLeak(() => {
      const g = tf.grad((x: tf.Tensor) => binaryCrossEntropyWithLogits(x, t, { reduction: 'sum' }))(z);
      expectAllClose(g, [-0.5, 0.5], { rtol: 0, atol: 0 });
      return g;
    });
    tf.dispose([z, t]);
  });
});
