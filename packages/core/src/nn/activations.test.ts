import * as tf from '@tensorflow/tfjs-core';
import { expectAllClose, expectNoLeak, useBackend } from '@residual/test-utils';
import { Flatten, GELU, Identity, ReLU, ShapeError, ValueError } from '@residual/core';

beforeAll(async () => {
  await useBackend();
});

describe('ReLU, GELU, Identity', () => {
  it('ReLU zeroes negatives', () => {
    const x = tf.tensor1d([-2, 0, 3]);
    const y = new ReLU().forward(x);
    expect(Array.from(y.dataSync())).toEqual([0, 0, 3]);
    tf.dispose([x, y]);
  });

  it('GELU is the exact erf form by default and the tanh form on request', () => {
    const x = tf.tensor1d([-3, -1, 0, 1, 2]);
    const exact = new GELU().forward(x);
    const tanh = new GELU({ approximate: 'tanh' }).forward(x);
    // torch.nn.GELU()(x) and GELU(approximate='tanh')(x) in torch 1.13.
    expectAllClose(exact, [-0.0040498674, -0.15865529, 0, 0.84134471, 1.95449996]);
    expectAllClose(tanh, [-0.0036374331, -0.15880799, 0, 0.84119201, 1.95459771]);
    tf.dispose([x, exact, tanh]);
    expect(() => new GELU({ approximate: 'fast' as 'tanh' })).toThrow(
      new ValueError('GELU: approximate must be \'none\' or \'tanh\', got "fast"'),
    );
  });

  it('Identity returns a new handle: disposing it leaves the input alive', async () => {
    const x = tf.tensor1d([1, 2]);
    await expectNoLeak(() => new Identity().forward(x));
    expect(x.isDisposed).toBe(false);
    x.dispose();
  });
});

describe('Flatten', () => {
  it('flattens NHWC in torch C,H,W order', () => {
    // NHWC [1, 1, 2, 2]: pixel 0 = (c0 1, c1 2), pixel 1 = (c0 3, c1 4) → NCHW order 1, 3, 2, 4.
    const x = tf.tensor4d([1, 2, 3, 4], [1, 1, 2, 2]);
    const y = new Flatten().forward(x);
    expect(y.arraySync()).toEqual([[1, 3, 2, 4]]);
    tf.dispose([x, y]);
  });

  it('rejects a rank-1 input', () => {
    const x = tf.tensor1d([1]);
    expect(() => new Flatten().forward(x)).toThrow(new ShapeError('Flatten.forward: x must have rank >= 2, got [1]'));
    x.dispose();
  });
});
