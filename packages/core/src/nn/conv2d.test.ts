import * as tf from '@tensorflow/tfjs-core';
import { expectAllClose, expectNoLeak, useBackend } from '@residual/test-utils';
import { Conv2d, Generator, ShapeError, ValueError } from '@residual/core';

beforeAll(async () => {
  await useBackend();
});

function withWeights(conv: Conv2d, weight: tf.Tensor, bias?: tf.Tensor): Conv2d {
  const sd: Record<string, tf.Tensor> = { weight };
  if (bias) sd.bias = bias;
  conv.loadStateDict(sd);
  tf.dispose(Object.values(sd));
  return conv;
}

describe('Conv2d', () => {
  it('pads symmetrically like torch, not like TF "same" (stride 2, padding 1, 4x4 ones)', async () => {
    const conv = withWeights(new Conv2d(1, 1, 3, { stride: 2, padding: 1, bias: false }), tf.ones([1, 1, 3, 3]));
    const x = tf.ones([1, 4, 4, 1]);
    // Window sums over rows/cols {-1,0,1} and {1,2,3}: 2·2, 2·3, 3·2, 3·3 real cells.
    await expectNoLeak(() => {
      const y = conv.forward(x as tf.Tensor4D);
      expect(y.shape).toEqual([1, 2, 2, 1]);
      expect(Array.from(y.dataSync())).toEqual([4, 6, 6, 9]);
      return y;
    });
    x.dispose();
    conv.dispose();
  });

  it('adds the bias per output channel and keeps torch channel order', () => {
    // torch weight [out=2, in=1, 1, 1] = [[2]], [[-1]]; bias [10, 20].
    const conv = withWeights(new Conv2d(1, 2, 1), tf.tensor4d([2, -1], [2, 1, 1, 1]), tf.tensor1d([10, 20]));
    const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
    const y = conv.forward(x);
    expect(y.arraySync()).toEqual([[[[12, 19], [14, 18]], [[16, 17], [18, 16]]]]);
    tf.dispose([x, y]);
    conv.dispose();
  });

  it('applies dilation by spreading the kernel (1x3 taps 2 apart)', () => {
    const conv = withWeights(new Conv2d(1, 1, [1, 3], { dilation: 2, bias: false }), tf.tensor4d([1, 10, 100], [1, 1, 1, 3]));
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6], [1, 1, 6, 1]);
    const y = conv.forward(x);
    // y[j] = x[j] + 10·x[j+2] + 100·x[j+4]
    expect(Array.from(y.dataSync())).toEqual([1 + 30 + 500, 2 + 40 + 600]);
    tf.dispose([x, y]);
    conv.dispose();
  });

  it('has torch state-dict keys and shapes, and exposes its configuration', () => {
    const conv = new Conv2d(4, 6, [3, 5], { stride: 2, padding: [1, 2], groups: 2 });
    const sd = conv.stateDict();
    expect([...sd].map(([k, t]) => [k, t.shape])).toEqual([['weight', [6, 2, 3, 5]], ['bias', [6]]]);
    expect(conv.weight.shape).toEqual([3, 5, 2, 6]);
    expect([conv.kernelSize, conv.stride, conv.padding, conv.dilation, conv.groups]).toEqual([[3, 5], [2, 2], [1, 2], [1, 1], 2]);
    tf.dispose([...sd.values()]);
    conv.dispose();
  });

  it('initialises weight and bias from U(±1/√fanIn) (torch default) with the given generator', () => {
    const conv = new Conv2d(8, 64, 3, { generator: new Generator(1) });
    const bound = 1 / Math.sqrt(8 * 9);
    const w = conv.weight.dataSync();
    const b = conv.bias!.dataSync();
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.99 * bound);
    expect(Math.max(...b.map(Math.abs))).toBeLessThanOrEqual(bound);
    const again = new Conv2d(8, 64, 3, { generator: new Generator(1) });
    expectAllClose(again.weight, conv.weight, { rtol: 0, atol: 0 });
    conv.dispose();
    again.dispose();
  });

  it('rejects bad configurations and inputs with messages naming the argument', () => {
    expect(() => new Conv2d(4, 6, 3, { groups: 4 })).toThrow(
      new ValueError('Conv2d: inChannels (4) and outChannels (6) must be divisible by groups (4)'),
    );
    expect(() => new Conv2d(4, 6, 0)).toThrow(new ValueError('Conv2d: kernelSize must be an integer >= 1 or a pair of them, got 0'));
    const conv = new Conv2d(3, 2, 5);
    const x = tf.zeros([1, 8, 8, 4]) as tf.Tensor4D;
    expect(() => conv.forward(x)).toThrow(new ShapeError('Conv2d.forward: x must be NHWC [N,H,W,3], got [1,8,8,4]'));
    const small = tf.zeros([1, 4, 8, 3]) as tf.Tensor4D;
    expect(() => conv.forward(small)).toThrow(new ShapeError('Conv2d.forward: padded input 4x8 is smaller than the dilated kernel 5x5'));
    tf.dispose([x, small]);
    conv.dispose();
  });
});
