import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ValueError } from '@residual/core';
import { readImage } from '@residual/data';
import { expectAllClose, loadFixture, useBackend } from '@residual/test-utils';
import { classificationTransform, resizedShortSide } from './classification-transform.js';

const dir = path.join(__dirname, '..', 'test', 'fixtures', 'classify');

describe('classificationTransform', () => {
  let reference: Map<string, tf.Tensor>;
  const images: Record<string, tf.Tensor3D> = {};
  beforeAll(async () => {
    await useBackend();
    reference = loadFixture(path.join(dir, 'transform.safetensors')).tensors;
    for (const name of ['photo', 'tall']) images[name] = await readImage(path.join(dir, `${name}.png`));
  });
  afterAll(() => {
    reference.forEach((t) => t.dispose());
    Object.values(images).forEach((t) => t.dispose());
  });

  it.each([
    ['photo', 24, 20],
    ['photo', 25, 20],
    ['tall', 24, 21],
  ])('equals torchvision ImageClassification on %s (resize %i, crop %i)', (name, resizeSize, cropSize) => {
    const before = tf.memory().numTensors;
    const out = classificationTransform(images[name], { resizeSize, cropSize });
    expect(tf.memory().numTensors).toBe(before + 1); // only the result survives
    expect(out.shape).toEqual([cropSize, cropSize, 3]);
    // atol 1e-5: tfjs lerps top + (bottom − top)·t where torch sums w0·a + w1·b, so resized pixels
    // differ by a few float32 ulps, then grow by 1/std (≤ 4.5) in normalisation; measured 6.6e-6, 5.8e-6, 6.8e-6.
    expectAllClose(out, reference.get(`${name}_r${resizeSize}_c${cropSize}`) as tf.Tensor, { rtol: 1e-5, atol: 1e-5 });
    out.dispose();
  });

  it('sizes the shorter side and truncates the longer, as torchvision', () => {
    expect(resizedShortSide(31, 40, 25)).toEqual([25, 32]);
    expect(resizedShortSide(45, 26, 24)).toEqual([41, 24]);
    expect(resizedShortSide(480, 640, 256)).toEqual([256, 341]);
  });

  it('refuses a crop larger than the resized image', () => {
    expect(() => classificationTransform(images.photo, { resizeSize: 16, cropSize: 20 })).toThrow(
      new ValueError('classificationTransform: a 31×40 image resizes to 16×20, smaller than the 20×20 crop'),
    );
  });
});
