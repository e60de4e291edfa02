import * as tf from '@tensorflow/tfjs-core';
import { expectNoLeak, useBackend } from '@residual/test-utils';
import { ConvTranspose2d, Generator, ValueError } from '@residual/core';

function expectClose(actual: tf.Tensor, expected: tf.Tensor, tol = 1e-5): void {
  expect(actual.shape).toEqual(expected.shape);
  const a = Array.from(actual.dataSync());
  const e = Array.from(expected.dataSync());
  const worst = a.reduce((m, v, i) => Math.max(m, Math.abs(v - e[i]) / (1 + Math.abs(e[i]))), 0);
  expect(worst).toBeLessThan(tol);
}

beforeAll(async () => {
  await useBackend();
});

describe('ConvTranspose2d', () => {
  it('scatters each input pixel into a k×k block for kernel 2, stride 2', async () => {
    const up = new ConvTranspose2d(1, 1, 2, { stride: 2, bias: false });
    // torch weight [in=1, out=1, 2, 2] = [[1, 2], [3, 4]].
    const w = tf.tensor4d([1, 2, 3, 4], [1, 1, 2, 2]);
    up.loadStateDict({ weight: w });
    const x = tf.tensor4d([1, 10], [1, 1, 2, 1]);
    await expectNoLeak(() => {
      const y = up.forward(x);
      expect(y.shape).toEqual([1, 2, 4, 1]);
      expect(Array.from(y.dataSync())).toEqual([1, 2, 10, 20, 3, 4, 30, 40]);
      return y;
    });
    tf.dispose([w, x]);
    up.dispose();
  });

  it('computes kernel = stride (one block per input pixel) as the general adjoint convolution does, gradients included', async () => {
    const gen = new Generator(3);
    const up = new ConvTranspose2d(5, 4, [2, 3], { stride: [2, 3], generator: gen });
    const x = gen.normalTensor([2, 3, 4, 5]) as tf.Tensor4D;
    const dy = gen.normalTensor([2, 6, 12, 4]);
    // The reference: tfjs's adjoint convolution with the same filter, plus the bias.
    const reference = (input: tf.Tensor4D): tf.Tensor4D =>
      tf.tidy(() => tf.add(tf.conv2dTranspose(input, up.weight as tf.Tensor4D, [2, 6, 12, 4], [2, 3], 'valid'), up.bias as tf.Variable));
    const ours = (input: tf.Tensor4D): tf.Tensor4D => up.forward(input);
    const gradients = (f: (input: tf.Tensor4D) => tf.Tensor4D): tf.Tensor[] => {
      const dx = tf.grad((input) => tf.sum(tf.mul(f(input as tf.Tensor4D), dy)))(x);
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(f(x), dy)) as tf.Scalar, [up.weight, up.bias as tf.Variable]);
      value.dispose();
      return [dx, grads[up.weight.name], grads[(up.bias as tf.Variable).name]];
    };
    await expectNoLeak(() => {
      const y = ours(x);
      const want = reference(x);
      expect(y.shape).toEqual([2, 6, 12, 4]);
      expectClose(y, want);
      const got = gradients(ours);
      const expected = gradients(reference);
      got.forEach((g, i) => expectClose(g, expected[i]));
      return [y, want, got, expected];
    });
    tf.dispose([x, dy]);
    up.dispose();
  });

  it('maps an empty batch to an empty output (no RoIs), with or without the block-scatter path', async () => {
    for (const up of [new ConvTranspose2d(3, 2, 2, { stride: 2 }), new ConvTranspose2d(3, 2, 3, { stride: 2 })]) {
      const x = tf.zeros([0, 4, 4, 3]) as tf.Tensor4D;
      await expectNoLeak(() => {
        const y = up.forward(x);
        expect(y.shape).toEqual([0, up.kernelSize[0] === 2 ? 8 : 9, up.kernelSize[0] === 2 ? 8 : 9, 2]);
        return y;
      });
      x.dispose();
      up.dispose();
    }
  });

  it('crops padding and appends outputPadding: H\' = (H−1)s − 2p + k + op', () => {
    const up = new ConvTranspose2d(2, 3, 3, { stride: 2, padding: 1, outputPadding: 1 });
    const x = tf.zeros([1, 5, 4, 2]) as tf.Tensor4D;
    const y = up.forward(x);
    expect(y.shape).toEqual([1, 10, 8, 3]);
    tf.dispose([x, y]);
    up.dispose();
  });

  it('stores torch weight [in, out/groups, kH, kW] in state dicts', () => {
    const up = new ConvTranspose2d(4, 6, 3, { groups: 2 });
    const sd = up.stateDict();
    expect([...sd].map(([k, t]) => [k, t.shape])).toEqual([['weight', [4, 3, 3, 3]], ['bias', [6]]]);
    tf.dispose([...sd.values()]);
    up.dispose();
  });

  it('rejects outputPadding that is not smaller than stride or dilation', () => {
    expect(() => new ConvTranspose2d(2, 2, 3, { stride: 2, outputPadding: 2 })).toThrow(
      new ValueError(
        'ConvTranspose2d: outputPadding must be smaller than stride or dilation, got outputPadding [2, 2], stride [2, 2], dilation [1, 1]',
      ),
    );
  });
});
