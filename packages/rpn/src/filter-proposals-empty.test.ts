import * as tf from '@tensorflow/tfjs-core';
import { expectNoLeak, useBackend } from '@residual/test-utils';
import { filterProposals } from '@residual/rpn';

beforeAll(async () => {
  await useBackend();
});

describe('filterProposals with nothing left', () => {
  it('returns empty [0,4] proposals when every box is NaN (a diverged training step)', async () => {
    const proposals = tf.fill([1, 6, 4], NaN) as tf.Tensor3D;
    const objectness = tf.fill([1, 6], NaN) as tf.Tensor2D;
    await expectNoLeak(() => {
      const { boxes, scores } = filterProposals(proposals, objectness, [[32, 32]], [6], {
        preNmsTopN: 4, postNmsTopN: 4, nmsThresh: 0.7, scoreThresh: 0, minSize: 1e-3,
      });
      expect(boxes[0].shape).toEqual([0, 4]);
      expect(scores[0].shape).toEqual([0]);
      return { boxes, scores };
    });
    tf.dispose([proposals, objectness]);
  });
});
