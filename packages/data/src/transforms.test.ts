import * as tf from '@tensorflow/tfjs-core';
import { Generator, ValueError } from '@residual/core';
import { expectNoLeak, useBackend } from '@residual/test-utils';
import { horizontalFlip, randomHorizontalFlip } from './horizontal-flip.js';
import { normalize } from './normalize.js';
import { resize } from './resize.js';
import { disposeSample, type Sample } from './sample.js';
import { toTensor } from './to-tensor.js';
import { compose } from './transform.js';

beforeAll(async () => {
  await useBackend();
});

/** A 2×4 image whose red channel is 10·y + x, with two boxes and their masks. */
function makeSample(): Sample {
  const image = tf.tidy(() => {
    const red = tf.tensor2d([[0, 1, 2, 3], [10, 11, 12, 13]]);
    return tf.stack([red, tf.add(red, 100), tf.add(red, 200)], 2) as tf.Tensor3D;
  });
  return {
    image,
    target: {
      boxes: tf.tensor2d([[0.5, 0, 1.5, 2], [1, 1, 4, 2]]),
      labels: tf.tensor1d([2, 1], 'int32'),
      masks: tf.tensor3d([[[1, 1, 0, 0], [1, 0, 0, 0]], [[0, 0, 0, 0], [0, 1, 1, 1]]], [2, 2, 4], 'int32'),
      iscrowd: tf.tensor1d([0, 1], 'int32'),
      area: tf.tensor1d([3, 3]),
      imageId: 42,
    },
  };
}

describe('horizontalFlip', () => {
  it('mirrors image, masks and boxes (x1 → W − x2) and leaves the rest unchanged', async () => {
    const input = makeSample();
    await expectNoLeak(() => {
      const out = horizontalFlip(input);
      expect(out.image.arraySync().map((row) => row.map((px) => px[0]))).toEqual([[3, 2, 1, 0], [13, 12, 11, 10]]);
      expect(out.target.boxes.arraySync()).toEqual([[2.5, 0, 3.5, 2], [0, 1, 3, 2]]);
      expect(out.target.masks?.arraySync()).toEqual([[[0, 0, 1, 1], [0, 0, 0, 1]], [[0, 0, 0, 0], [1, 1, 1, 0]]]);
      expect(out.target.labels.arraySync()).toEqual([2, 1]);
      expect(out.target.iscrowd.arraySync()).toEqual([0, 1]);
      expect(out.target.imageId).toBe(42);
      return out;
    });
    expect(input.target.boxes.arraySync()).toEqual([[0.5, 0, 1.5, 2], [1, 1, 4, 2]]);
    disposeSample(input);
  });

  it('flips twice back to the input', () => {
    const input = makeSample();
    const once = horizontalFlip(input);
    const twice = horizontalFlip(once);
    expect(twice.image.arraySync()).toEqual(input.image.arraySync());
    expect(twice.target.masks?.arraySync()).toEqual(input.target.masks?.arraySync());
    expect(twice.target.boxes.arraySync()).toEqual(input.target.boxes.arraySync());
    [input, once, twice].forEach(disposeSample);
  });
});

describe('randomHorizontalFlip', () => {
  it('flips exactly when generator.random() < p', () => {
    const input = makeSample();
    const flip = randomHorizontalFlip(0.5, new Generator(11));
    const ref = new Generator(11);
    const seen = new Set<boolean>();
    for (let i = 0; i < 8; i++) {
      const flipped = ref.random() < 0.5;
      seen.add(flipped);
      const out = flip(input);
      expect(out.target.boxes.arraySync()[0]).toEqual(flipped ? [2.5, 0, 3.5, 2] : [0.5, 0, 1.5, 2]);
      disposeSample(out);
    }
    expect(seen).toEqual(new Set([true, false]));
    disposeSample(input);
  });

  it('rejects p outside [0, 1]', () => {
    expect(() => randomHorizontalFlip(1.5, new Generator(0))).toThrow(new ValueError('randomHorizontalFlip: p must be in [0, 1], got 1.5'));
  });
});

describe('normalize', () => {
  it('computes (image − mean) / std per channel in float32', async () => {
    const input = makeSample();
    await expectNoLeak(() => {
      const out = normalize([1, 2, 3], [2, 4, 0.5])(input);
      expect(out.image.arraySync()[1][2]).toEqual([(12 - 1) / 2, (112 - 2) / 4, (212 - 3) / 0.5]);
      expect(out.target.boxes.arraySync()).toEqual([[0.5, 0, 1.5, 2], [1, 1, 4, 2]]);
      return out;
    });
    disposeSample(input);
  });

  it('rejects a zero std and a wrong channel count', () => {
    expect(() => normalize([0, 0, 0], [1, 0, 1])).toThrow(new ValueError('normalize: std must not contain 0, got [1, 0, 1]'));
    expect(() => normalize([0, 0], [1, 1, 1])).toThrow(new ValueError('normalize: mean and std must have 3 values (RGB), got 2 and 3'));
  });
});

describe('compose', () => {
  it('applies transforms left to right and frees the intermediates, not the input', async () => {
    const input = makeSample();
    await expectNoLeak(() => {
      const out = compose([horizontalFlip, resize({ size: [4, 8] }), normalize([0, 0, 0], [2, 2, 2])])(input);
      expect(out.target.boxes.arraySync()).toEqual([[5, 0, 7, 4], [0, 2, 6, 4]]);
      expect(out.image.shape).toEqual([4, 8, 3]);
      return out;
    });
    expect(input.image.isDisposed).toBe(false);
    disposeSample(input);
  });
});

describe('toTensor', () => {
  it('turns HWC bytes into float32 [0,1] of shape [H,W,C]', () => {
    const t = toTensor(Uint8Array.from([0, 51, 255, 1, 2, 3]), 1, 2);
    expect(t.shape).toEqual([1, 2, 3]);
    expect(Array.from(t.dataSync())).toEqual([0, 0.2, 1, 1 / 255, 2 / 255, 3 / 255].map(Math.fround));
    t.dispose();
  });

  it('rejects a buffer of the wrong length', () => {
    expect(() => toTensor(new Uint8Array(5), 1, 2)).toThrow(new ValueError('toTensor: pixels must have height·width·channels = 1·2·3 = 6 values, got 5'));
  });
});
