import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, ValueError, compressRle, maskToRle, rleToMask } from '@residual/core';
import { expectAllClose, expectNoLeak, maxAbsDiff, useBackend } from '@residual/test-utils';
import { fixture, type Fixture } from '../test/fixture.js';
import { maskrcnnInference } from './maskrcnn-inference.js';
import { pasteMasksInImage, pasteMasksToRle } from './paste-masks-in-image.js';

describe('pasteMasksInImage', () => {
  let fx: Fixture;
  let size: [number, number];
  beforeAll(async () => {
    await useBackend();
    fx = fixture('paste');
    size = fx.meta('image_size');
  });
  afterAll(() => fx.dispose());

  it("equals torchvision's paste_masks_in_image for boxes inside, off the image, tiny, larger than the image", async () => {
    await expectNoLeak(() => {
      const pasted = pasteMasksInImage(fx.get('masks'), fx.get('boxes'), size);
      // Same float32 operations in the same order as torch's kernels; measured max |diff| 1.2e-7 (one ulp near 1).
      expectAllClose(pasted, fx.get('pasted'), { rtol: 1e-5, atol: 1e-6 });
      expect(maxAbsDiff(pasted, fx.get('pasted'))).toBeLessThan(1e-6);
      return pasted;
    });
  });

  it('pastes nothing outside the expanded box (zeros elsewhere) and returns [0,H,W] without masks', async () => {
    const boxes = tf.tensor2d([[10, 10, 20, 20]]);
    const masks = tf.ones([1, 28, 28]) as tf.Tensor3D;
    const empty = [tf.zeros([0, 28, 28]) as tf.Tensor3D, tf.zeros([0, 4]) as tf.Tensor2D] as const;
    await expectNoLeak(() => {
      const pasted = pasteMasksInImage(masks, boxes, [30, 40]);
      const v = pasted.dataSync();
      // expanded box: centre 15, half 5·30/28 = 5.357 → [9, 20] both ways (truncation), 12 pixels wide
      expect(v[15 * 40 + 8]).toBe(0);
      expect(v[15 * 40 + 21]).toBe(0);
      expect(v[15 * 40 + 9]).toBeGreaterThan(0);
      expect(v[15 * 40 + 20]).toBeGreaterThan(0);
      expect(v[8 * 40 + 15]).toBe(0);
      const none = pasteMasksInImage(empty[0], empty[1], [30, 40]);
      expect(none.shape).toEqual([0, 30, 40]);
      return [pasted, none];
    });
    tf.dispose([boxes, masks, ...empty]);
  });

  it('streams thresholded masks (> 0.5) to compressed COCO RLE equal to encoding the full pasted masks', async () => {
    const masks = fx.get<tf.Tensor3D>('masks');
    await expectNoLeak(() => {
      const rles = pasteMasksToRle(masks, fx.get('boxes'), size);
      expect(rles.length).toBe(masks.shape[0]);
      const want = tf.tidy(() => tf.cast(tf.greater(fx.get('pasted'), 0.5), 'int32'));
      const wantMasks = tf.unstack(want) as tf.Tensor2D[];
      rles.forEach((rle, k) => {
        expect(typeof rle.counts).toBe('string');
        expect(rle).toEqual(compressRle(maskToRle(wantMasks[k])));
      });
      const decoded = rleToMask(rles[0]);
      expect(decoded.shape).toEqual([...size]);
      return [want, ...wantMasks, decoded];
    });
  });

  it('rejects mismatched masks and boxes with messages naming the argument', () => {
    const masks = tf.zeros([2, 28, 28]) as tf.Tensor3D;
    const boxes = tf.zeros([3, 4]) as tf.Tensor2D;
    expect(() => pasteMasksInImage(masks, boxes, [10, 10])).toThrow(new ShapeError('pasteMasksInImage: boxes must be [2,4] (one per mask), got [3,4]'));
    expect(() => pasteMasksToRle(tf.zeros([2, 28]) as unknown as tf.Tensor3D, boxes, [10, 10])).toThrow(new ShapeError('pasteMasksToRle: masks must be [K,M,M], got [2,28]'));
    expect(() => pasteMasksInImage(masks, tf.zeros([2, 4]) as tf.Tensor2D, [10, 1.5])).toThrow(
      new ValueError('pasteMasksInImage: imageSize must be [H, W] (non-negative integers), got [10, 1.5]'),
    );
    tf.dispose([masks, boxes]);
  });
});

describe('maskrcnnInference', () => {
  let fx: Fixture;
  beforeAll(async () => {
    await useBackend();
    fx = fixture('paste');
  });
  afterAll(() => fx.dispose());

  it("takes the sigmoid of each detection's label channel, split per image, as torchvision", async () => {
    const labels = fx.get<tf.Tensor1D>('inference.labels');
    const perImage = [tf.slice(labels, 0, 3), tf.slice(labels, 3, 1)] as tf.Tensor1D[];
    await expectNoLeak(() => {
      const probs = maskrcnnInference(fx.get('inference.logits'), perImage);
      expect(probs.map((p) => p.shape)).toEqual([[3, 28, 28], [1, 28, 28]]);
      const all = tf.concat(probs);
      expectAllClose(all, fx.get('inference.probs'));
      return [...probs, all];
    });
    tf.dispose(perImage);
  });

  it('returns an empty [0,M,M] per image when no image has detections', async () => {
    const logits = tf.zeros([0, 28, 28, 3]) as tf.Tensor4D;
    const labels = [tf.zeros([0], 'int32'), tf.zeros([0], 'int32')] as tf.Tensor1D[];
    await expectNoLeak(() => {
      const probs = maskrcnnInference(logits, labels);
      expect(probs.map((p) => p.shape)).toEqual([[0, 28, 28], [0, 28, 28]]);
      return probs;
    });
    tf.dispose([logits, ...labels]);
  });

  it('rejects labels outside the class range', () => {
    const logits = tf.zeros([1, 28, 28, 3]) as tf.Tensor4D;
    const labels = tf.tensor1d([3], 'int32');
    expect(() => maskrcnnInference(logits, [labels])).toThrow(new ValueError('maskrcnnInference: label 3 of detection 0 is outside [0, 3)'));
    tf.dispose([logits, labels]);
  });
});
