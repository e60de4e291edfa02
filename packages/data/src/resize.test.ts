import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Generator, ValueError } from '@residual/core';
import { expectAllClose, expectNoLeak, fixturePath, loadFixture, useBackend } from '@residual/test-utils';
import { resize, resizeOutputSize } from './resize.js';
import type { Sample } from './sample.js';

const PKG = path.join(__dirname, '..');

function sample(image: tf.Tensor3D, boxes: tf.Tensor2D, masks: tf.Tensor3D): Sample {
  const k = boxes.shape[0];
  return {
    image,
    target: {
      boxes,
      masks,
      labels: tf.tensor1d(Array.from({ length: k }, (_, i) => i + 1), 'int32'),
      iscrowd: tf.zeros([k], 'int32') as tf.Tensor1D,
      area: tf.tensor1d(Array.from({ length: k }, (_, i) => 10 * i + 5)),
      imageId: 7,
    },
  };
}

describe('resizeOutputSize', () => {
  it('follows torchvision float32 scale rule on the parity-spec examples', () => {
    expect(resizeOutputSize(480, 640, 800, 1333)).toEqual([800, 1066]);
    expect(resizeOutputSize(427, 640, 800, 1333)).toEqual([799, 1199]);
    expect(resizeOutputSize(375, 500, 800, 1333)).toEqual([799, 1066]);
    expect(resizeOutputSize(333, 1000, 800, 1333)).toEqual([443, 1333]);
    expect(resizeOutputSize(500, 333, 800, 1333)).toEqual([1201, 799]);
    expect(resizeOutputSize(100, 2000, 800, 1333)).toEqual([66, 1333]);
  });
});

describe('resize', () => {
  let fixture: ReturnType<typeof loadFixture>;
  beforeAll(async () => {
    await useBackend();
    fixture = loadFixture(fixturePath(PKG, 'resize.safetensors'));
  });
  afterAll(() => tf.dispose([...fixture.tensors.values()]));

  it.each(['up', 'down', 'capped', 'fixed'])('matches torchvision 0.14 on image, masks and boxes (%s)', async (name) => {
    const t = (k: string) => fixture.tensors.get(`${name}.${k}`) as tf.Tensor;
    const [mn, mx, fh, fw] = fixture.metadata[name].split(',').map(Number);
    const transform = fh > 0 ? resize({ size: [fh, fw] }) : resize({ minSize: mn, maxSize: mx });
    const input = sample(t('image') as tf.Tensor3D, t('boxes') as tf.Tensor2D, t('masks') as tf.Tensor3D);
    const { labels, iscrowd, area } = input.target;
    await expectNoLeak(() => {
      const out = transform(input);
      expect(out.image.shape).toEqual(t('out_image').shape);
      // bilinear in float32 on both sides, but tfjs forms the weights in another order: values in
      // [0,1] differ by a few ulps (max seen 1.4e-6), so atol 2e-6 on top of rtol 1e-5.
      expectAllClose(out.image, t('out_image'), { rtol: 1e-5, atol: 2e-6 });
      expect(out.target.masks?.dtype).toBe('int32');
      expect(out.target.masks?.arraySync()).toEqual(t('out_masks').arraySync());
      expect(out.target.boxes.arraySync()).toEqual(t('out_boxes').arraySync()); // exact float32 products
      expect(out.target.labels.arraySync()).toEqual([1, 2]);
      expect(out.target.area.arraySync()).toEqual([5, 15]);
      expect(out.target.imageId).toBe(7);
      return out;
    });
    expect(input.image.isDisposed).toBe(false);
    tf.dispose([labels, iscrowd, area]);
  });

  it('draws the short side from minSize with the generator', () => {
    const input = sample(tf.zeros([10, 20, 3]), tf.zeros([0, 4]), tf.zeros([0, 10, 20], 'int32'));
    const g = new Generator(3);
    const ref = new Generator(3);
    const transform = resize({ minSize: [10, 20, 30], maxSize: 1000, generator: g });
    for (let i = 0; i < 5; i++) {
      const out = transform(input);
      const s = [10, 20, 30][ref.randint(3)];
      expect(out.image.shape).toEqual([s, 2 * s, 3]);
      expect(out.target.masks?.shape).toEqual([0, s, 2 * s]);
      tf.dispose([out.image, out.target.boxes, out.target.masks!, out.target.labels, out.target.iscrowd, out.target.area]);
    }
    tf.dispose([input.image, input.target.boxes, input.target.masks!, input.target.labels, input.target.iscrowd, input.target.area]);
  });

  it('rejects bad options with exact messages', () => {
    expect(() => resize({ size: [0, 5] })).toThrow(new ValueError('resize: size must be [h, w] (positive integers), got [0, 5]'));
    expect(() => resize({ minSize: [800, 900], maxSize: 1333 })).toThrow(
      new ValueError('resize: a generator is required to draw one of 2 minSize values'),
    );
    expect(() => resize({ minSize: 0, maxSize: 1333 })).toThrow(
      new ValueError('resize: minSize and maxSize must be positive, got minSize [0], maxSize 1333'),
    );
  });
});
