import * as tf from '@tensorflow/tfjs-core';
import { Generator } from '@residual/core';
import { maskrcnnInference, pasteMasksInImage } from '@residual/mask-rcnn';
import { expectNoLeak, useBackend } from '@residual/test-utils';
import { hostMaskProbs, hostPasteMasksSparse, hostPasteMasksTensor } from './host-masks.js';

// The engine's host mask steps against mask-rcnn's tfjs ones on the same random inputs.
beforeAll(async () => {
  await useBackend();
});

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('hostMaskProbs', () => {
  it("equals maskrcnnInference (σ of each detection's class channel)", () => {
    const logits = new Generator(1).normalTensor([3, 4, 4, 5]) as tf.Tensor4D;
    const labels = tf.tensor1d([4, 0, 2], 'int32');
    const [want] = maskrcnnInference(logits, [labels]);
    const got = hostMaskProbs({ data: logits.dataSync() as Float32Array, shape: [...logits.shape] }, [4, 0, 2]);
    expect(got.length).toBe(3 * 16);
    expect(maxDiff(got, want.dataSync())).toBeLessThanOrEqual(1e-6);
    tf.dispose([logits, labels, want]);
  });

  it('rejects a label outside the classes, naming the detection', () => {
    expect(() => hostMaskProbs({ data: new Float32Array(2 * 4 * 3), shape: [2, 2, 2, 3] }, [0, 3])).toThrow('hostMaskProbs: label 3 of detection 1 is outside [0, 3)');
  });
});

// The sparse result written into zeros.
function dense(k: number, size: [number, number], { indices, values }: { indices: Int32Array; values: Float32Array }): Float32Array {
  const out = new Float32Array(k * size[0] * size[1]);
  indices.forEach((at, j) => (out[at] = values[j]));
  return out;
}

describe('hostPasteMasksSparse', () => {
  it('equals pasteMasksInImage: boxes inside, across every border, outside, tiny and larger than the image', () => {
    const m = 6;
    const boxes = [
      [3.2, 4.7, 20.1, 15.9],
      [-5, -3, 8, 6],
      [25, 14, 40, 30],
      [50, 50, 60, 60],
      [10, 10, 10.4, 10.3],
      [-10, -10, 45, 35],
    ];
    const probs = new Generator(2).uniform([boxes.length, m, m]) as tf.Tensor3D;
    const boxT = tf.tensor2d(boxes);
    const size: [number, number] = [24, 30];
    const want = pasteMasksInImage(probs, boxT, size);
    const sparse = hostPasteMasksSparse(probs.dataSync() as Float32Array, m, boxes.flat(), size);
    expect(Array.from(sparse.indices).every((v, j) => j === 0 || v > sparse.indices[j - 1])).toBe(true); // ascending, no repeats
    const got = dense(boxes.length, size, sparse);
    expect(maxDiff(got, want.dataSync())).toBeLessThanOrEqual(1e-6);
    expect(got.subarray(3 * 720, 4 * 720).every((v) => v === 0)).toBe(true); // the box outside the image
    tf.dispose([probs, boxT, want]);
  });

  it('returns nothing for no masks', () => {
    expect(hostPasteMasksSparse(new Float32Array(0), 28, [], [10, 10]).values.length).toBe(0);
  });

  it('refuses more than 2^31 − 1 values, pointing to RLE', () => {
    expect(() => hostPasteMasksSparse(new Float32Array(3 * 4), 2, new Array(12).fill(0), [30000, 30000])).toThrow(
      "hostPasteMasksSparse: 3 masks of 30000×30000 exceed 2^31 − 1 values; paste them as RLE (maskFormat: 'rle')",
    );
  });
});

describe('hostPasteMasksTensor', () => {
  it.each([
    ['small boxes (scattered into zeros)', [[2, 3, 9, 8], [20, 10, 28, 22]]],
    ['boxes covering most of the image (a dense copy)', [[-2, -2, 31, 25], [0, 0, 29, 23]]],
  ])('equals pasteMasksInImage for %s, leaking nothing', async (_, boxes) => {
    const probs = new Generator(6).uniform([2, 5, 5]) as tf.Tensor3D;
    const boxT = tf.tensor2d(boxes);
    const want = pasteMasksInImage(probs, boxT, [24, 30]);
    const wanted = want.dataSync();
    await expectNoLeak(() => {
      const got = hostPasteMasksTensor(probs.dataSync() as Float32Array, 5, boxes.flat(), [24, 30]);
      expect(got.shape).toEqual([2, 24, 30]);
      expect(maxDiff(got.dataSync(), wanted)).toBeLessThanOrEqual(1e-6);
      return got;
    });
    tf.dispose([probs, boxT, want]);
  });

  it('gives zeros [K,H,W] when every box is outside the image', () => {
    const got = hostPasteMasksTensor(new Float32Array(4), 2, [50, 50, 60, 60], [8, 8]);
    expect(got.shape).toEqual([1, 8, 8]);
    expect(got.dataSync().every((v) => v === 0)).toBe(true);
    got.dispose();
  });
});
