import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '@residual/core';
import { expectNoLeak, useBackend } from '@residual/test-utils';
import { patchify, unpatchify } from './patchify.js';

describe('patchify', () => {
  beforeAll(async () => {
    await useBackend();
  });

  it('orders patches row-major and pixels (py, px, c) with the channel fastest', () => {
    // 4×4 image, 2 channels, value = 100·y + 10·x + c; p = 2 → 4 patches of 2·2·2.
    const values: number[] = [];
    for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) for (let c = 0; c < 2; c++) values.push(100 * y + 10 * x + c);
    const img = tf.tensor4d(values, [1, 4, 4, 2]);
    const patches = patchify(img, 2);
    expect(patches.shape).toEqual([1, 4, 8]);
    const rows = patches.arraySync()[0];
    // patch 1 = grid row 0, column 1: pixels (0,2) (0,3) (1,2) (1,3)
    expect(rows[1]).toEqual([20, 21, 30, 31, 120, 121, 130, 131]);
    // patch 2 = grid row 1, column 0
    expect(rows[2]).toEqual([200, 201, 210, 211, 300, 301, 310, 311]);
    tf.dispose([img, patches]);
  });

  it('is inverted exactly by unpatchify', () => {
    const img = tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const patches = patchify(img, 4);
    const back = unpatchify(patches, 4);
    expect(back.shape).toEqual([2, 8, 8, 3]);
    expect(Array.from(back.dataSync())).toEqual(Array.from(img.dataSync()));
    tf.dispose([img, patches, back]);
  });

  it('returns only its result', async () => {
    const img = tf.zeros([1, 4, 4, 3]) as tf.Tensor4D;
    await expectNoLeak(() => patchify(img, 2));
    img.dispose();
  });

  it('rejects images that are not square or not divisible by the patch size', () => {
    const img = tf.zeros([1, 6, 4, 3]) as tf.Tensor4D;
    expect(() => patchify(img, 2)).toThrow(ShapeError);
    expect(() => patchify(img, 2)).toThrow('patchify: imgs must be square with a side divisible by patchSize 2, got 6×4');
    img.dispose();
  });

  it('rejects patches whose width is not p·p·C', () => {
    const x = tf.zeros([1, 4, 10]) as tf.Tensor3D;
    expect(() => unpatchify(x, 2)).toThrow('unpatchify: x must be [N,L,12] (p·p·C), got [1,4,10]');
    x.dispose();
  });
});
