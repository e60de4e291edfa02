import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '@residual/core';
import { expectAllClose, expectNoLeak, useBackend } from '@residual/test-utils';
import { fixture, type Fixture } from '../test/fixture.js';
import { FastRCNNPredictor } from './fast-rcnn-predictor.js';
import { TwoMLPHead } from './two-mlp-head.js';

function weights(fx: Fixture, prefix: string): Map<string, tf.Tensor> {
  const keys = ['fc6.weight', 'fc6.bias', 'fc7.weight', 'fc7.bias', 'cls_score.weight', 'cls_score.bias', 'bbox_pred.weight', 'bbox_pred.bias'];
  return new Map(keys.filter((k) => fx.has(`${prefix}${k}`)).map((k) => [k, fx.get(`${prefix}${k}`)]));
}

describe('TwoMLPHead and FastRCNNPredictor', () => {
  let fx: Fixture;
  beforeAll(async () => {
    await useBackend();
    fx = fixture('box_head');
  });
  afterAll(() => fx.dispose());

  it('load torchvision state dicts (fc6/fc7, cls_score/bbox_pred) and match its outputs on NHWC pooled features', async () => {
    const head = new TwoMLPHead(4 * 7 * 7, 32);
    const pred = new FastRCNNPredictor(32, 5);
    head.loadStateDict(weights(fx, 'w.head.'));
    pred.loadStateDict(weights(fx, 'w.pred.'));
    expect([...head.stateDict().keys()]).toEqual(['fc6.weight', 'fc6.bias', 'fc7.weight', 'fc7.bias']);
    await expectNoLeak(() => {
      const rep = head.forward(fx.get('x'));
      expectAllClose(rep, fx.get('repr'));
      const { classLogits, boxRegression } = pred.forward(rep);
      expectAllClose(classLogits, fx.get('class_logits'));
      expectAllClose(boxRegression, fx.get('box_regression'));
      return [rep, classLogits, boxRegression];
    });
    tf.dispose([...head.stateDict().values()]);
    head.dispose();
    pred.dispose();
  });

  it('take zero proposals ([0,7,7,C]) and give [0, representation]', () => {
    const head = new TwoMLPHead(4 * 7 * 7, 8);
    const x = tf.zeros([0, 7, 7, 4]);
    const y = head.forward(x);
    expect(y.shape).toEqual([0, 8]);
    tf.dispose([x, y]);
    head.dispose();
  });

  it('reject inputs of the wrong size', () => {
    const head = new TwoMLPHead(4 * 7 * 7, 8);
    const pred = new FastRCNNPredictor(8, 3);
    const x = tf.zeros([2, 7, 7, 3]);
    expect(() => head.forward(x)).toThrow(new ShapeError('TwoMLPHead.forward: x must be [R,P,P,C] or [R,F] with 196 features per row, got [2,7,7,3]'));
    expect(() => pred.forward(x)).toThrow(new ShapeError('FastRCNNPredictor.forward: x must be [R,8] or [R,1,1,8], got [2,7,7,3]'));
    x.dispose();
    head.dispose();
    pred.dispose();
  });
});
