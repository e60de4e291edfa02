import * as tf from '@tensorflow/tfjs-core';
import { Generator } from '@residual/core';
import { GeneralizedRCNNTransform } from '@residual/faster-rcnn';
import { expectNoLeak, useBackend } from '@residual/test-utils';
import { hostTransform, isPlainTransform } from './host-transform.js';

// The engine's host transform against GeneralizedRCNNTransform.forward (eval) on the same images.
beforeAll(async () => {
  await useBackend();
});

async function compare(transform: GeneralizedRCNNTransform, shapes: Array<[number, number]>): Promise<void> {
  const gen = new Generator(3);
  const images = shapes.map(([h, w]) => gen.uniform([h, w, 3]) as tf.Tensor3D);
  const want = transform.eval().forward(images).images;
  const got = await expectNoLeak(() => hostTransform(transform, images));
  expect(got.imageSizes).toEqual(want.imageSizes);
  expect(got.input.shape).toEqual(want.tensor.shape);
  const w = want.tensor.dataSync();
  let worst = 0;
  got.input.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - w[i]))));
  expect(worst).toBeLessThanOrEqual(1e-6);
  tf.dispose([...images, want.tensor]);
}

describe('hostTransform', () => {
  it('equals the transform when images are resized (up and down) and padded to the batch', async () => {
    await compare(new GeneralizedRCNNTransform({ minSize: 40, maxSize: 64, sizeDivisible: 16 }), [[30, 45], [70, 52]]);
  });

  it('equals the transform when the size is kept (only normalised and padded)', async () => {
    await compare(new GeneralizedRCNNTransform({ minSize: 40, maxSize: 100, sizeDivisible: 32 }), [[40, 50]]);
  });

  it('equals the transform with a fixed size and custom mean/std', async () => {
    await compare(new GeneralizedRCNNTransform({ fixedSize: [24, 20], imageMean: [0.1, 0.2, 0.3], imageStd: [0.5, 0.25, 2] }), [[33, 17]]);
  });

  it('rejects images that are not HWC RGB, naming the image', async () => {
    const image = tf.zeros([4, 4, 1]) as tf.Tensor3D;
    await expect(hostTransform(new GeneralizedRCNNTransform(), [image])).rejects.toThrow('GeneralizedRCNNTransform: images[0] must be [H,W,3] (HWC, RGB), got [4,4,1]');
    image.dispose();
  });

  it('takes only a transform whose forward is the base one', () => {
    class Custom extends GeneralizedRCNNTransform {
      override forward(...args: Parameters<GeneralizedRCNNTransform['forward']>): ReturnType<GeneralizedRCNNTransform['forward']> {
        return super.forward(...args);
      }
    }
    expect(isPlainTransform(new GeneralizedRCNNTransform())).toBe(true);
    expect(isPlainTransform(new Custom())).toBe(false);
  });
});
