import * as tf from '@tensorflow/tfjs-core';
import { expectAllClose, expectNoLeak, useBackend } from '@residual/test-utils';
import { ShapeError, ValueError, softNms, type SoftNmsOptions } from '@residual/core';

// Hand-computed: A overlaps B with IoU 0.5 and D with IoU 0.8; B overlaps D with IoU 50/80 = 0.625;
// C overlaps nothing.
const BOXES = [
  [0, 0, 10, 10], // A 0.9
  [0, 0, 10, 5], // B 0.8
  [20, 20, 30, 30], // C 0.7
  [0, 0, 10, 8], // D 0.6
];
const SCORES = [0.9, 0.8, 0.7, 0.6];

beforeAll(async () => {
  await useBackend();
});

function run(options: SoftNmsOptions): { keep: number[]; scores: Float32Array } {
  const { keep, scores } = tf.tidy(() => softNms(tf.tensor2d(BOXES), tf.tensor1d(SCORES), options));
  expect(keep.dtype).toBe('int32');
  const out = { keep: Array.from(keep.dataSync()), scores: scores.dataSync() as Float32Array };
  tf.dispose([keep, scores]);
  return out;
}

describe('softNms', () => {
  it("decays overlapping scores by (1 − IoU) above iouThreshold with method 'linear'", () => {
    const { keep, scores } = run({});
    expect(keep).toEqual([0, 2, 1, 3]);
    expectAllClose(scores, [0.9, 0.7, 0.8 * 0.5, 0.6 * 0.2 * 0.375]);
  });

  it("decays by exp(−IoU²/σ) with method 'gaussian'", () => {
    const { keep, scores } = run({ method: 'gaussian', sigma: 0.5 });
    expect(keep).toEqual([0, 2, 1, 3]);
    const g = (o: number): number => Math.exp(-(o * o) / 0.5);
    expectAllClose(scores, [0.9, 0.7, 0.8 * g(0.5), 0.6 * g(0.8) * g(0.625)]);
  });

  it("removes every box with IoU > iouThreshold with method 'hard' (classic NMS)", () => {
    const { keep, scores } = run({ method: 'hard', iouThreshold: 0.3 });
    expect(keep).toEqual([0, 2]);
    expectAllClose(scores, [0.9, 0.7]);
  });

  it('drops boxes whose decayed score falls below scoreThreshold', () => {
    expect(run({ scoreThreshold: 0.05 }).keep).toEqual([0, 2, 1]);
  });

  it('leaves scores untouched when no IoU exceeds iouThreshold (linear)', () => {
    const { keep, scores } = run({ iouThreshold: 0.9 });
    expect(keep).toEqual([0, 1, 2, 3]);
    expectAllClose(scores, SCORES);
  });

  it('rejects an unknown method and a non-positive gaussian sigma', () => {
    const b = tf.zeros([1, 4]) as tf.Tensor2D;
    const s = tf.zeros([1]) as tf.Tensor1D;
    expect(() => softNms(b, s, { method: 'box' as SoftNmsOptions['method'] })).toThrow(
      new ValueError('softNms: method must be one of linear, gaussian, hard, got "box"'),
    );
    expect(() => softNms(b, s, { method: 'gaussian', sigma: 0 })).toThrow(
      new ValueError('softNms: sigma must be > 0 for the gaussian method, got 0'),
    );
    expect(() => softNms(b, tf.zeros([2]) as tf.Tensor1D)).toThrow(new ShapeError('softNms: scores must be [1] (one per box), got [2]'));
    tf.dispose([b, s]);
  });

  it('leaks no tensors (two outputs)', async () => {
    const b = tf.tensor2d(BOXES);
    const s = tf.tensor1d(SCORES);
    await expectNoLeak(() => softNms(b, s, { method: 'gaussian' }));
    tf.dispose([b, s]);
  });
});
