import * as tf from '@tensorflow/tfjs-core';
import { expectAllClose, expectNoLeak, useBackend } from '@residual/test-utils';
import { BatchNorm1d, BatchNorm2d, ShapeError, ValueError } from '@residual/core';

beforeAll(async () => {
  await useBackend();
});

// One channel, values 1..4: mean 2.5, biased var 1.25, unbiased var 5/3.
const column = (): tf.Tensor4D => tf.tensor4d([1, 2, 3, 4], [2, 2, 1, 1]);

describe('BatchNorm2d', () => {
  it('normalises with batch statistics in training and updates running stats as torch', async () => {
    const bn = new BatchNorm2d(1);
    const x = column();
    await expectNoLeak(() => {
      const y = bn.forward(x);
      const s = Math.sqrt(1.25 + 1e-5);
      expectAllClose(y, [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s]);
      return y;
    });
    expectAllClose(bn.runningMean!, [0.25]); // 0.9·0 + 0.1·2.5
    expectAllClose(bn.runningVar!, [0.9 + 0.1 * (5 / 3)]); // unbiased variance
    expect(bn.numBatchesTracked!.dtype).toBe('int32');
    expect(bn.numBatchesTracked!.arraySync()).toBe(1);
    x.dispose();
    bn.dispose();
  });

  it('uses a cumulative average when momentum is null', () => {
    const bn = new BatchNorm2d(1, { momentum: null });
    const a = column();
    const b = tf.mul(column(), 3) as tf.Tensor4D; // mean 7.5
    tf.dispose([bn.forward(a), bn.forward(b)]);
    expectAllClose(bn.runningMean!, [(2.5 + 7.5) / 2]);
    expect(bn.numBatchesTracked!.arraySync()).toBe(2);
    tf.dispose([a, b]);
    bn.dispose();
  });

  it('updates the running stats once inside tf.variableGrads, leaks nothing and keeps gradients exact', async () => {
    const bn = new BatchNorm2d(1);
    const x = column();
    const cot = tf.tensor4d([1, -2, 0.5, 3], [2, 2, 1, 1]);
    await expectNoLeak(() => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(bn.forward(x), cot)) as tf.Scalar);
      // d/dβ = Σ cot; d/dγ = Σ cot·x̂.
      expectAllClose(grads[bn.bias!.name], [2.5]);
      const s = Math.sqrt(1.25 + 1e-5);
      expectAllClose(grads[bn.weight!.name], [(-1.5 * 1 + -0.5 * -2 + 0.5 * 0.5 + 1.5 * 3) / s]);
      expect(Object.keys(grads).sort()).toEqual([bn.bias!.name, bn.weight!.name].sort());
      return [value, grads];
    });
    expectAllClose(bn.runningMean!, [0.25]);
    expect(bn.numBatchesTracked!.arraySync()).toBe(1);
    tf.dispose([x, cot]);
    bn.dispose();
  });

  it('uses the running statistics in eval mode and does not update them', () => {
    const bn = new BatchNorm2d(1, { eps: 0 });
    const sd = {
      weight: tf.tensor1d([2]),
      bias: tf.tensor1d([1]),
      running_mean: tf.tensor1d([1]),
      running_var: tf.tensor1d([4]),
      num_batches_tracked: tf.scalar(7, 'int32'),
    };
    bn.loadStateDict(sd);
    bn.eval();
    const x = column();
    const y = bn.forward(x);
    expectAllClose(y, [1, 2, 3, 4]); // (x − 1)/2·2 + 1
    expect(bn.numBatchesTracked!.arraySync()).toBe(7);
    tf.dispose([x, y, ...Object.values(sd)]);
    bn.dispose();
  });

  it('has torch keys in torch order, and none for what affine/trackRunningStats turn off', () => {
    const keys = (bn: BatchNorm2d | BatchNorm1d): string[] => {
      const sd = bn.stateDict();
      tf.dispose([...sd.values()]);
      bn.dispose();
      return [...sd.keys()];
    };
    expect(keys(new BatchNorm2d(3))).toEqual(['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
    expect(keys(new BatchNorm1d(3, { affine: false }))).toEqual(['running_mean', 'running_var', 'num_batches_tracked']);
    expect(keys(new BatchNorm2d(3, { trackRunningStats: false }))).toEqual(['weight', 'bias']);
  });

  it('uses batch statistics even in eval mode without running stats', () => {
    const bn = new BatchNorm2d(1, { trackRunningStats: false, eps: 0 }).eval();
    const x = column();
    const y = bn.forward(x);
    expectAllClose(y, [-1.5, -0.5, 0.5, 1.5].map((v) => v / Math.sqrt(1.25)));
    tf.dispose([x, y]);
    bn.dispose();
  });

  it('rejects one value per channel in training and wrongly shaped inputs', () => {
    const bn = new BatchNorm2d(2);
    const one = tf.zeros([1, 1, 1, 2]) as tf.Tensor4D;
    expect(() => bn.forward(one)).toThrow(
      new ValueError('BatchNorm2d.forward: expected more than 1 value per channel when training, got input [1,1,1,2]'),
    );
    const nchw = tf.zeros([1, 2, 4, 4]) as tf.Tensor4D;
    expect(() => bn.forward(nchw)).toThrow(new ShapeError('BatchNorm2d.forward: x must be NHWC [N,H,W,2], got [1,2,4,4]'));
    tf.dispose([one, nchw]);
    bn.dispose();
  });
});

describe('BatchNorm1d', () => {
  it('normalises [N,C] and channel-last [N,L,C] inputs per channel (affine false)', () => {
    const bn = new BatchNorm1d(2, { affine: false, eps: 0 });
    const x2 = tf.tensor2d([[1, 10], [3, 30]]);
    const x3 = tf.tensor3d([[[1, 10], [3, 30]]]);
    const y2 = bn.forward(x2);
    const y3 = bn.forward(x3);
    expectAllClose(y2, [-1, -1, 1, 1]);
    expectAllClose(y3, [-1, -1, 1, 1]);
    expect(y3.shape).toEqual([1, 2, 2]);
    tf.dispose([x2, x3, y2, y3]);
    bn.dispose();
  });

  it('rejects a rank-4 input', () => {
    const bn = new BatchNorm1d(3);
    const x = tf.zeros([2, 1, 1, 3]);
    expect(() => bn.forward(x)).toThrow(new ShapeError('BatchNorm1d.forward: x must be [N,3] or [N,L,3], got [2,1,1,3]'));
    x.dispose();
    bn.dispose();
  });
});
