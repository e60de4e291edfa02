import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '@residual/test-utils';
import { pasteMasksToRle } from '@residual/mask-rcnn';

beforeAll(async () => {
  await useBackend();
});

describe('pasteMasksToRle memory', () => {
  it('pastes 100 masks into an 800×1333 image with tensor memory bounded by a few masks, not 100', async () => {
    const [h, w, k] = [800, 1333, 100];
    const masks = tf.randomUniform([k, 28, 28], 0, 1, 'float32', 1) as tf.Tensor3D;
    const boxes = tf.tidy(() => {
      const xy = tf.mul(tf.randomUniform([k, 2], 0, 1, 'float32', 2), [w - 400, h - 300]);
      const wh = tf.add(tf.mul(tf.randomUniform([k, 2], 0, 1, 'float32', 3), 300), 50);
      return tf.concat([xy, tf.add(xy, wh)], 1) as tf.Tensor2D;
    });
    let count = 0;
    const info = await tf.profile(() => {
      count = pasteMasksToRle(masks, boxes, [h, w]).length;
      return [];
    });
    expect(count).toBe(k);
    const fullMaskBytes = h * w * 4;
    // 'full' output alone would need k·H·W·4 = 426 MB; streaming keeps the peak near one box's work.
    expect(info.peakBytes - info.newBytes).toBeLessThan(2 * fullMaskBytes);
    expect(info.newTensors).toBe(0);
    tf.dispose([masks, boxes]);
  });
});
