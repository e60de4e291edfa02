import * as tf from '@tensorflow/tfjs-core';
import { expectNoLeak, useBackend } from '@residual/test-utils';
import {
  ShapeError,
  ValueError,
  binaryCrossEntropyWithLogits,
  crossEntropy,
  l1Loss,
  mseLoss,
  smoothL1Loss,
} from '@residual/core';

beforeAll(async () => {
  await useBackend();
});

describe('losses on hand-computed inputs', () => {
  it('crossEntropy of two equal logits is log 2 and leaves out the ignored row', async () => {
    const logits = tf.tensor2d([[0, 0], [5, -5]]);
    const targets = tf.tensor1d([1, -100], 'int32');
    const loss = await expectNoLeak(() => {
      const l = crossEntropy(logits, targets);
      expect(l.shape).toEqual([]);
      expect(l.dataSync()[0]).toBeCloseTo(Math.log(2), 6);
      return l;
    });
    expect(loss.isDisposed).toBe(true);
    tf.dispose([logits, targets]);
  });

  it('binaryCrossEntropyWithLogits is log 2 at z = 0 for any target and stays finite at |z| = 100', () => {
    const z = tf.tensor1d([0, 0, 100, -100]);
    const t = tf.tensor1d([0, 1, 1, 0]);
    const l = binaryCrossEntropyWithLogits(z, t, { reduction: 'none' });
    const v = l.dataSync();
    expect(v[0]).toBeCloseTo(Math.log(2), 6);
    expect(v[1]).toBeCloseTo(Math.log(2), 6);
    // log1p(exp(−100)) ≈ 3.7e-44: tiny, never Inf or NaN.
    expect(v[2]).toBeGreaterThanOrEqual(0);
    expect(v[2]).toBeLessThan(1e-40);
    expect(v[3]).toBeGreaterThanOrEqual(0);
    expect(v[3]).toBeLessThan(1e-40);
    tf.dispose([z, t, l]);
  });

  it('smoothL1Loss is 0.5·d²/beta below beta and d − 0.5·beta above; l1Loss and mseLoss sum |d| and d²', () => {
    const x = tf.tensor1d([0.25, 3]);
    const y = tf.tensor1d([0, 0]);
    const smooth = smoothL1Loss(x, y, { beta: 0.5, reduction: 'none' });
    expect(Array.from(smooth.dataSync())).toEqual([0.0625, 2.75]);
    const l1 = l1Loss(x, y, { reduction: 'sum' });
    const mse = mseLoss(x, y, { reduction: 'sum' });
    expect(l1.dataSync()[0]).toBe(3.25);
    expect(mse.dataSync()[0]).toBe(9.0625);
    tf.dispose([x, y, smooth, l1, mse]);
  });
});

describe('loss argument checks', () => {
  const logits = (): tf.Tensor2D => tf.zeros([3, 4]);

  it('crossEntropy rejects logits that are not [N,C]', () => {
    const x = tf.zeros([3]) as unknown as tf.Tensor2D;
    const t = tf.tensor1d([0, 1, 2], 'int32');
    expect(() => crossEntropy(x, t)).toThrow(new ShapeError('crossEntropy: logits must be [N,C], got [3]'));
    tf.dispose([x, t]);
  });

  it('crossEntropy rejects targets of the wrong length or dtype', () => {
    const x = logits();
    const short = tf.tensor1d([0, 1], 'int32');
    const float = tf.tensor1d([0, 1, 2], 'float32');
    expect(() => crossEntropy(x, short)).toThrow(
      new ShapeError('crossEntropy: targets must be [3] (one class index per logits row), got [2]'),
    );
    expect(() => crossEntropy(x, float)).toThrow(new ShapeError('crossEntropy: targets must be int32, got float32'));
    tf.dispose([x, short, float]);
  });

  it('crossEntropy rejects a class index out of range that is not ignoreIndex', () => {
    const x = logits();
    const t = tf.tensor1d([0, 4, -100], 'int32');
    expect(() => crossEntropy(x, t)).toThrow(
      new ValueError('crossEntropy: targets[1] = 4 is out of range [0, 4) and is not ignoreIndex -100'),
    );
    tf.dispose([x, t]);
  });

  it('crossEntropy rejects a weight that is not one per class and labelSmoothing outside [0, 1]', () => {
    const x = logits();
    const t = tf.tensor1d([0, 1, 2], 'int32');
    const w = tf.ones([3]) as tf.Tensor1D;
    expect(() => crossEntropy(x, t, { weight: w })).toThrow(
      new ShapeError('crossEntropy: weight must be [4] (one per class), got [3]'),
    );
    expect(() => crossEntropy(x, t, { labelSmoothing: 1.5 })).toThrow(
      new ValueError('crossEntropy: labelSmoothing must be in [0, 1], got 1.5'),
    );
    tf.dispose([x, t, w]);
  });

  it('rejects an unknown reduction', () => {
    const x = tf.zeros([2]);
    expect(() => mseLoss(x, x, { reduction: 'avg' as 'mean' })).toThrow(
      new ValueError("mseLoss: reduction must be 'mean', 'sum' or 'none', got 'avg'"),
    );
    x.dispose();
  });

  it('elementwise losses reject mismatched shapes and non-float inputs', () => {
    const a = tf.zeros([2, 3]);
    const b = tf.zeros([3, 2]);
    const i = tf.zeros([2, 3], 'int32');
    expect(() => l1Loss(a, b)).toThrow(new ShapeError("l1Loss: target must have the input's shape [2,3], got [3,2]"));
    expect(() => binaryCrossEntropyWithLogits(a, i)).toThrow(
      new ShapeError('binaryCrossEntropyWithLogits: target must be float32, got int32'),
    );
    tf.dispose([a, b, i]);
  });

  it('binaryCrossEntropyWithLogits rejects a posWeight that does not broadcast over the last axis', () => {
    const a = tf.zeros([2, 3]);
    const pw = tf.ones([2]);
    expect(() => binaryCrossEntropyWithLogits(a, a, { posWeight: pw })).toThrow(
      new ShapeError('binaryCrossEntropyWithLogits: posWeight must be [3] or [1] (broadcast over the last axis), got [2]'),
    );
    tf.dispose([a, pw]);
  });

  it('smoothL1Loss rejects a negative beta', () => {
    const a = tf.zeros([2]);
    expect(() => smoothL1Loss(a, a, { beta: -1 })).toThrow(new ValueError('smoothL1Loss: beta must be >= 0, got -1'));
    a.dispose();
  });
});
