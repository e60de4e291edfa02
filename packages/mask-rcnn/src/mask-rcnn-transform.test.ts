import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '@residual/core';
import type { Detection } from '@residual/faster-rcnn';
import { expectNoLeak, useBackend } from '@residual/test-utils';
import { MaskRCNNTransform } from './mask-rcnn-transform.js';

// postprocess on bad input: the error names the problem, the tensors it made are freed, and the
// caller's detections (their 28×28 masks included) stay whole and usable.
describe('MaskRCNNTransform.postprocess with a bad detection', () => {
  beforeAll(async () => {
    await useBackend();
  });

  /** One detection per image: a box and its M×M mask probabilities (the second image's mask count is wrong). */
  function detections(): Detection[] {
    const one = (masks: number): Detection => ({
      boxes: tf.tensor2d([[2, 2, 10, 12]]),
      scores: tf.tensor1d([0.9]),
      labels: tf.tensor1d([1], 'int32'),
      masks: tf.fill([masks, 4, 4], 0.75) as tf.Tensor3D,
    });
    return [one(1), one(1), one(2)];
  }

  it.each(['full', 'rle'] as const)('%s: throws the ShapeError, frees what it made and leaves the input masks usable', async (format) => {
    const transform = new MaskRCNNTransform({ minSize: 16, maxSize: 16 });
    transform.maskFormat = format;
    const input = detections();
    const sizes: Array<[number, number]> = [[16, 16], [16, 16], [16, 16]];
    await expectNoLeak(() => {
      expect(() => transform.postprocess(input, sizes, [[32, 32], [32, 32], [32, 32]])).toThrow(
        new ShapeError(`${format === 'rle' ? 'pasteMasksToRle' : 'pasteMasksInImage'}: boxes must be [2,4] (one per mask), got [1,4]`),
      );
    });
    for (const d of input) {
      expect([d.boxes, d.scores, d.labels, d.masks as tf.Tensor].every((t) => !t.isDisposed)).toBe(true);
    }
    expect(new Set((input[2].masks as tf.Tensor).dataSync())).toEqual(new Set([0.75]));
    tf.dispose(input.flatMap((d) => [d.boxes, d.scores, d.labels, d.masks as tf.Tensor]));
  });

  it('forward: a target whose masks do not match its image throws the ShapeError and leaves every input usable', async () => {
    const transform = new MaskRCNNTransform({ minSize: 16, maxSize: 16 });
    const image = tf.fill([20, 24, 3], 0.5) as tf.Tensor3D;
    const target = { boxes: tf.tensor2d([[2, 2, 10, 12]]), labels: tf.tensor1d([1], 'int32'), masks: tf.ones([1, 20, 20], 'int32') as tf.Tensor3D };
    await expectNoLeak(() => {
      expect(() => transform.forward([image, image], [target, target])).toThrow(
        new ShapeError('GeneralizedRCNNTransform: targets[0].masks must be [1,20,24] (one H×W mask per box), got [1,20,20]'),
      );
    });
    expect([image, target.boxes, target.labels, target.masks].every((t) => !t.isDisposed)).toBe(true);
    expect(new Set(target.masks.dataSync())).toEqual(new Set([1]));
    tf.dispose([image, target.boxes, target.labels, target.masks]);
  });
});
