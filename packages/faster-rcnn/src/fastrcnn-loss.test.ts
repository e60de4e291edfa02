import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '@residual/core';
import { expectAllClose, expectNoLeak, useBackend } from '@residual/test-utils';
import { fixture, type Fixture } from '../test/fixture.js';
import { fastrcnnLoss } from './fastrcnn-loss.js';

describe('fastrcnnLoss', () => {
  let fx: Fixture;
  beforeAll(async () => {
    await useBackend();
    fx = fixture('fastrcnn_loss');
  });
  afterAll(() => fx.dispose());

  for (const prefix of ['all', 's']) {
    it(`equals torchvision's fastrcnn_loss on sampled RoIs (case ${prefix})`, async () => {
      await expectNoLeak(() => {
        const labels = tf.concat([fx.get(`${prefix}.labels.0`), fx.get(`${prefix}.labels.1`)]) as tf.Tensor1D;
        const reg = tf.concat([fx.get(`${prefix}.reg.0`), fx.get(`${prefix}.reg.1`)]) as tf.Tensor2D;
        const losses = fastrcnnLoss(fx.get(`${prefix}.class_logits`), fx.get(`${prefix}.box_regression`), labels, reg);
        expectAllClose(losses.loss_classifier.dataSync() as Float32Array, fx.get(`${prefix}.loss_classifier`).dataSync() as Float32Array);
        expectAllClose(losses.loss_box_reg.dataSync() as Float32Array, fx.get(`${prefix}.loss_box_reg`).dataSync() as Float32Array);
        expect(losses.loss_box_reg.shape).toEqual([]);
        return [labels, reg, losses];
      });
    });
  }

  it('gives a zero box loss, still connected to the graph, when no RoI is positive', () => {
    const logits = tf.randomNormal([4, 3]) as tf.Tensor2D;
    const deltas = tf.randomNormal([4, 12]) as tf.Tensor2D;
    const labels = tf.zeros([4], 'int32') as tf.Tensor1D;
    const targets = tf.zeros([4, 4]) as tf.Tensor2D;
    const g = tf.grad((d: tf.Tensor) => fastrcnnLoss(logits, d as tf.Tensor2D, labels, targets).loss_box_reg)(deltas);
    const { loss_box_reg, loss_classifier } = fastrcnnLoss(logits, deltas, labels, targets);
    expect(Math.abs(loss_box_reg.dataSync()[0])).toBe(0);
    expect(g.shape).toEqual([4, 12]);
    tf.dispose([logits, deltas, labels, targets, g, loss_box_reg, loss_classifier]);
  });

  it('rejects mismatched shapes', () => {
    const t = [tf.zeros([4, 3]), tf.zeros([4, 8]), tf.zeros([4], 'int32'), tf.zeros([4, 4])] as const;
    expect(() => fastrcnnLoss(t[0] as tf.Tensor2D, t[1] as tf.Tensor2D, t[2] as tf.Tensor1D, t[3] as tf.Tensor2D)).toThrow(
      new ShapeError('fastrcnnLoss: expected classLogits [R,C], boxRegression [R,4C], labels [R], regressionTargets [R,4] with R = 4, C = 3, got [4,8], [4], [4,4]'),
    );
    tf.dispose([...t]);
  });
});
