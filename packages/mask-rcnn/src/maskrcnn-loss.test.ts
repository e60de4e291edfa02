import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, ValueError } from '@residual/core';
import { expectAllClose, expectNoLeak, useBackend } from '@residual/test-utils';
import { fixture, type Fixture } from '../test/fixture.js';
import { maskrcnnLoss, projectMasksOnBoxes } from './maskrcnn-loss.js';

describe('maskrcnnLoss', () => {
  let fx: Fixture;
  const perImage = <T extends tf.Tensor>(key: string): T[] => [0, 1].map((i) => fx.get<T>(`${key}.${i}`));
  beforeAll(async () => {
    await useBackend();
    fx = fixture('mask_loss');
  });
  afterAll(() => fx.dispose());

  it("cuts torchvision's soft 28×28 targets from the matched gt masks (boxes off the mask, sub-pixel, fractional)", async () => {
    await expectNoLeak(() => {
      const t = tf.tidy(() => tf.concat([0, 1].map((i) => projectMasksOnBoxes(fx.get(`gt_masks.${i}`), fx.get(`proposals.${i}`), fx.get(`matched.${i}`), 28))));
      expectAllClose(t, fx.get('targets'));
      return t;
    });
  });

  it("equals torchvision's loss and its gradient with respect to the logits", async () => {
    const args = [perImage<tf.Tensor2D>('proposals'), perImage<tf.Tensor3D>('gt_masks'), perImage<tf.Tensor1D>('gt_labels'), perImage<tf.Tensor1D>('matched')] as const;
    const logits = tf.variable(fx.get('logits'));
    await expectNoLeak(() => {
      const { value, grads } = tf.variableGrads(() => maskrcnnLoss(logits as tf.Tensor4D, ...args), [logits]);
      expectAllClose(value.dataSync()[0], fx.get('loss').dataSync()[0]);
      expectAllClose(grads[logits.name], fx.get('grad'), { rtol: 1e-5, atol: 1e-9 });
      return [value, grads[logits.name]];
    });
    logits.dispose();
  });

  it('is 0·Σ logits (zero, connected to the graph) without positives', async () => {
    const logits = tf.zeros([0, 28, 28, 4]) as tf.Tensor4D;
    const props = tf.zeros([0, 4]) as tf.Tensor2D;
    const matched = tf.zeros([0], 'int32') as tf.Tensor1D;
    await expectNoLeak(() => {
      const loss = maskrcnnLoss(logits, [props], [fx.get('gt_masks.1')], [fx.get('gt_labels.1')], [matched]);
      expect(loss.shape).toEqual([]);
      expect(loss.dataSync()[0]).toBe(fx.get('empty.loss').dataSync()[0]);
      return loss;
    });
    tf.dispose([logits, props, matched]);
  });

  it('rejects mismatched inputs with messages naming the argument', () => {
    const logits = tf.zeros([2, 28, 28, 4]) as tf.Tensor4D;
    const props = fx.get<tf.Tensor2D>('proposals.1');
    expect(() => maskrcnnLoss(logits, [props], [], [], [])).toThrow(
      new ValueError('maskrcnnLoss: proposals, gtMasks, gtLabels and matchedIdxs must have one entry per image, got 1, 0, 0, 0'),
    );
    expect(() => maskrcnnLoss(logits, [props], [fx.get('gt_masks.1')], [fx.get('gt_labels.1')], [fx.get('matched.1')])).toThrow(
      new ShapeError('maskrcnnLoss: maskLogits must be [3,M,M,C] (one per proposal, NHWC), got [2,28,28,4]'),
    );
    logits.dispose();
  });
});
