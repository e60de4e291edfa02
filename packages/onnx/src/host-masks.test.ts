import * as tf from '@tensorflow/tfjs-core';
import { Generator } from '@residual/core';
import { maskrcnnInference, pasteMasksInImage } from '@residual/mask-rcnn';
import { useBackend } from '@residual/test-utils';
import { hostMaskProbs, hostPasteMasks } from './host-masks.js';

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

describe('hostPasteMasks', () => {
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
    const got = hostPasteMasks(probs.dataSync() as Float32Array, m, boxes.flat(), size);
    expect(got.length).toBe(boxes.length * 24 * 30);
    expect(maxDiff(got, want.dataSync())).toBeLessThanOrEqual(1e-6);
    expect(got.subarray(3 * 720, 4 * 720).every((v) => v === 0)).toBe(true); // the box outside the image
    tf.dispose([probs, boxT, want]);
  });

  it('returns an empty array for no masks', () => {
    expect(hostPasteMasks(new Float32Array(0), 28, [], [10, 10]).length).toBe(0);
  });
});
