import * as tf from '@tensorflow/tfjs-core';
import { Generator, ShapeError, ValueError } from '@residual/core';
import { expectAllClose, expectNoLeak, maxAbsDiff, useBackend } from '@residual/test-utils';
import { fixture, type Fixture } from '../test/fixture.js';
import { GeneralizedRCNNTransform } from './generalized-rcnn-transform.js';
import { resizedSize } from './resize-image.js';

const MEAN = [0.485, 0.456, 0.406] as const;
const STD = [0.229, 0.224, 0.225] as const;

describe('GeneralizedRCNNTransform', () => {
  let fx: Fixture;
  beforeAll(async () => {
    await useBackend();
    fx = fixture('transform');
  });
  afterAll(() => fx.dispose());

  it('resizes to the same sizes as torchvision for every fixture shape, including the spec examples', () => {
    const sizes = fx.meta<number[][]>('sizes');
    expect(sizes.length).toBeGreaterThan(50);
    for (const [h, w, mn, mx, oh, ow] of sizes) expect([h, w, mn, mx, ...resizedSize(h, w, mn, mx)]).toEqual([h, w, mn, mx, oh, ow]);
    expect(resizedSize(480, 640, 800, 1333)).toEqual([800, 1066]);
    expect(resizedSize(427, 640, 800, 1333)).toEqual([799, 1199]);
    expect(resizedSize(100, 2000, 800, 1333)).toEqual([66, 1333]);
  });

  it('normalises, resizes bilinearly (upscaling) and pads a batch as torchvision', async () => {
    const t = new GeneralizedRCNNTransform({ minSize: 64, maxSize: 100, imageMean: MEAN, imageStd: STD }).eval();
    const images = [fx.get<tf.Tensor3D>('eval.input.0'), fx.get<tf.Tensor3D>('eval.input.1')];
    const out = await expectNoLeak(() => {
      const o = t.forward(images);
      expect(o.images.imageSizes).toEqual(fx.meta('eval.image_sizes'));
      expect(o.images.tensor.shape).toEqual([2, 96, 96, 3]);
      // Measured 3.6e-7 (values up to 2.6): only the rounding of torch's summation order differs.
      expect(maxAbsDiff(o.images.tensor, fx.get('eval.batch'))).toBeLessThan(1e-6);
      return o;
    });
    expect(out.targets).toBeUndefined();
  });

  it('downscales with torch bilinear (align_corners=False) sampling', () => {
    const t = new GeneralizedRCNNTransform({ minSize: 40, maxSize: 100 }).eval();
    const o = t.forward([fx.get<tf.Tensor3D>('down.input.0')]);
    expect(o.images.imageSizes).toEqual(fx.meta('down.image_sizes'));
    expectAllClose(o.images.tensor, fx.get('down.batch'));
    o.images.tensor.dispose();
  });

  it('scales target boxes and resizes masks by nearest in training', async () => {
    const t = new GeneralizedRCNNTransform({ minSize: [72], maxSize: 120 }).train();
    const target = { boxes: fx.get<tf.Tensor2D>('train.boxes'), labels: tf.tensor1d([1, 2], 'int32'), masks: fx.get<tf.Tensor3D>('train.masks') };
    await expectNoLeak(() => {
      const o = t.forward([fx.get<tf.Tensor3D>('train.input.0')], [target]);
      expect(o.images.imageSizes).toEqual(fx.meta('train.image_sizes'));
      expectAllClose(o.images.tensor, fx.get('train.batch'));
      const out = o.targets?.[0];
      expectAllClose(out?.boxes ?? 0, fx.get('train.out_boxes'), { rtol: 0, atol: 0 });
      expect(out?.masks?.dtype).toBe('int32');
      expect(Array.from(out?.masks?.dataSync() ?? [])).toEqual(Array.from(fx.get('train.out_masks').dataSync()));
      expect(Array.from(out?.labels.dataSync() ?? [])).toEqual([1, 2]);
      return o;
    });
    target.labels.dispose();
  });

  it('resizes an image without instances to empty [0, H′, W′] targets', async () => {
    const t = new GeneralizedRCNNTransform({ minSize: [40], maxSize: 100 }).train();
    const image = tf.zeros([20, 30, 3]) as tf.Tensor3D;
    const target = { boxes: tf.zeros([0, 4]) as tf.Tensor2D, labels: tf.zeros([0], 'int32') as tf.Tensor1D, masks: tf.zeros([0, 20, 30], 'int32') as tf.Tensor3D };
    await expectNoLeak(() => {
      const o = t.forward([image], [target]);
      expect(o.targets?.[0].boxes.shape).toEqual([0, 4]);
      expect(o.targets?.[0].masks?.shape).toEqual([0, 40, 60]);
      expect(o.targets?.[0].masks?.dtype).toBe('int32');
      return o;
    });
    tf.dispose([image, target.boxes, target.labels, target.masks]);
  });

  it('draws the training min size with its generator and uses the last size in eval', () => {
    const sizes = (t: GeneralizedRCNNTransform, n: number): number[] =>
      Array.from({ length: n }, () => {
        const o = t.forward([tf.zeros([10, 20, 3]) as tf.Tensor3D]);
        o.images.tensor.dispose();
        return o.images.imageSizes[0][0];
      });
    const make = (): GeneralizedRCNNTransform => new GeneralizedRCNNTransform({ minSize: [20, 30, 40], maxSize: 1000, generator: new Generator(3) });
    const a = sizes(make().train(), 12);
    expect(new Set(a)).toEqual(new Set([20, 30, 40]));
    expect(sizes(make().train(), 12)).toEqual(a);
    expect(sizes(make().eval(), 3)).toEqual([40, 40, 40]);
    tf.disposeVariables();
  });

  it('maps detections back to the original image size as torchvision postprocess', async () => {
    const t = new GeneralizedRCNNTransform().eval();
    const det = { boxes: fx.get<tf.Tensor2D>('post.boxes'), scores: tf.tensor1d([0.9, 0.5]), labels: tf.tensor1d([1, 3], 'int32') };
    await expectNoLeak(() => {
      const [out] = t.postprocess([det], [[72, 97]], [[45, 61]]);
      expectAllClose(out.boxes, fx.get('post.out'), { rtol: 0, atol: 0 });
      expect(Array.from(out.labels.dataSync())).toEqual([1, 3]);
      return out;
    });
    tf.dispose([det.scores, det.labels]);
  });

  it('carries masks and fields it does not know through postprocess untouched (same values, not copies)', () => {
    const t = new GeneralizedRCNNTransform().eval();
    const masks = tf.fill([2, 28, 28], 0.25) as tf.Tensor3D;
    const keypoints = tf.tensor3d([1, 2, 1, 3, 4, 1], [2, 1, 3]);
    const ids = ['a', 'b'];
    const det = { boxes: fx.get<tf.Tensor2D>('post.boxes'), scores: tf.tensor1d([0.9, 0.5]), labels: tf.tensor1d([1, 3], 'int32'), masks, keypoints, ids };
    const before = tf.memory().numTensors;
    const [out] = t.postprocess([det], [[72, 97]], [[45, 61]]);
    expect(tf.memory().numTensors).toBe(before + 3); // new boxes, scores and labels; nothing else made or kept
    expectAllClose(out.boxes, fx.get('post.out'), { rtol: 0, atol: 0 });
    const extra = out as typeof det;
    expect(extra.masks).toBe(masks);
    expect(extra.keypoints).toBe(keypoints);
    expect(extra.ids).toBe(ids);
    expect(out.scores).not.toBe(det.scores); // the mapped fields are new tensors the caller owns
    expect(masks.isDisposed).toBe(false);
    tf.dispose([out.boxes, out.scores, out.labels, det.scores, det.labels, masks, keypoints]);
  });

  it('honours fixedSize as [width, height] and sizeDivisible', () => {
    const t = new GeneralizedRCNNTransform({ fixedSize: [50, 30], sizeDivisible: 16 }).eval();
    const o = t.forward([tf.ones([10, 20, 3]) as tf.Tensor3D]);
    expect(o.images.imageSizes).toEqual([[30, 50]]);
    expect(o.images.tensor.shape).toEqual([1, 32, 64, 3]);
    // the padding is exactly 0 in normalised space
    expect(tf.slice(o.images.tensor, [0, 30, 0, 0], [1, 2, 64, 3]).dataSync().every((v) => v === 0)).toBe(true);
    o.images.tensor.dispose();
  });

  it('rejects non-float, wrong-rank and non-RGB images, and mismatched targets', () => {
    const t = new GeneralizedRCNNTransform();
    const int = tf.zeros([4, 4, 3], 'int32') as tf.Tensor3D;
    const gray = tf.zeros([4, 4, 1]) as tf.Tensor3D;
    const chw = tf.zeros([1, 4, 4, 3]) as unknown as tf.Tensor3D;
    const ok = tf.zeros([4, 4, 3]) as tf.Tensor3D;
    expect(() => t.forward([int])).toThrow(new ValueError('GeneralizedRCNNTransform: images[0] must be float32 in [0, 1], got int32'));
    expect(() => t.forward([ok, gray])).toThrow(new ShapeError('GeneralizedRCNNTransform: images[1] must be [H,W,3] (HWC, RGB), got [4,4,1]'));
    expect(() => t.forward([chw])).toThrow(ShapeError);
    expect(() => t.forward([])).toThrow(new ValueError('GeneralizedRCNNTransform: images must hold at least one image, got none'));
    const boxes = tf.zeros([2, 5]) as tf.Tensor2D;
    const labels = tf.zeros([2], 'int32') as tf.Tensor1D;
    expect(() => t.forward([ok], [{ boxes, labels }])).toThrow(new ShapeError('GeneralizedRCNNTransform: targets[0].boxes must be [K,4], got [2,5]'));
    expect(() => t.forward([ok, ok], [])).toThrow(new ValueError('GeneralizedRCNNTransform: targets must have one entry per image (2), got 0'));
    expect(() => new GeneralizedRCNNTransform({ minSize: [] })).toThrow(ValueError);
    tf.dispose([int, gray, chw, ok, boxes, labels]);
  });
});
