import * as tf from '@tensorflow/tfjs-core';
import { expectAllClose, expectNoLeak, useBackend } from '@residual/test-utils';
import { LayerNorm, ShapeError } from '@residual/core';

beforeAll(async () => {
  await useBackend();
});

describe('LayerNorm', () => {
  it('normalises over the last dim with the biased variance, then scales and shifts', async () => {
    const ln = new LayerNorm(4, { eps: 0 });
    const sd = { weight: tf.tensor1d([1, 1, 2, 2]), bias: tf.tensor1d([0, 0, 0, 1]) };
    ln.loadStateDict(sd);
    const x = tf.tensor2d([[1, 2, 3, 4]]); // mean 2.5, var 1.25
    await expectNoLeak(() => {
      const y = ln.forward(x);
      const s = Math.sqrt(1.25);
      expectAllClose(y, [-1.5 / s, -0.5 / s, 1 / s, 3 / s + 1]);
      return y;
    });
    tf.dispose([x, ...Object.values(sd)]);
    ln.dispose();
  });

  it('defaults to eps 1e-5 and has no parameters without elementwiseAffine', () => {
    const ln = new LayerNorm(3, { elementwiseAffine: false });
    expect(ln.eps).toBe(1e-5);
    expect([...ln.namedParameters().keys()]).toEqual([]);
    ln.dispose();
  });

  it('rejects an input whose last dim differs', () => {
    const ln = new LayerNorm(8);
    const x = tf.zeros([2, 4]);
    expect(() => ln.forward(x)).toThrow(new ShapeError('LayerNorm.forward: x must be [..., 8], got [2,4]'));
    x.dispose();
    ln.dispose();
  });
});
