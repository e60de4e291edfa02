import * as tf from '@tensorflow/tfjs-core';
import { BoxCoder, ShapeError } from '@residual/core';
import { expectAllClose, expectNoLeak, useBackend } from '@residual/test-utils';
import { fixture, type Fixture } from '../test/fixture.js';
import { postprocessDetections } from './postprocess-detections.js';

describe('postprocessDetections', () => {
  let fx: Fixture;
  beforeAll(async () => {
    await useBackend();
    fx = fixture('postprocess');
  });
  afterAll(() => fx.dispose());

  const settings = {
    a: { scoreThresh: 0.05, nmsThresh: 0.5, detectionsPerImg: 100 },
    b: { scoreThresh: 0.2, nmsThresh: 0.3, detectionsPerImg: 5 },
  };

  for (const [prefix, s] of Object.entries(settings)) {
    it(`matches torchvision's postprocess_detections (score > ${s.scoreThresh}, NMS ${s.nmsThresh}, top ${s.detectionsPerImg}) box for box`, async () => {
      const proposals = [fx.get<tf.Tensor2D>('proposals.0'), fx.get<tf.Tensor2D>('proposals.1')];
      const opts = { ...s, boxCoder: new BoxCoder([10, 10, 5, 5]) };
      await expectNoLeak(() => {
        const dets = postprocessDetections(fx.get('class_logits'), fx.get('box_regression'), proposals, fx.meta('image_shapes'), opts);
        dets.forEach((d, i) => {
          expect(Array.from(d.labels.dataSync())).toEqual(Array.from(fx.get(`${prefix}.labels.${i}`).dataSync()));
          expect(d.labels.dtype).toBe('int32');
          expectAllClose(d.boxes, fx.get(`${prefix}.boxes.${i}`), { rtol: 0, atol: 1e-4 });
          expectAllClose(d.scores, fx.get(`${prefix}.scores.${i}`), { rtol: 0, atol: 1e-6 });
        });
        expect(dets.map((d) => d.boxes.shape[0])).toEqual([0, 1].map((i) => fx.get(`${prefix}.boxes.${i}`).shape[0]));
        return dets;
      });
    });
  }

  it('returns empty detections when no score passes the threshold', () => {
    const [d] = postprocessDetections(tf.zeros([3, 4]), tf.zeros([3, 16]), [tf.tensor2d([[0, 0, 5, 5], [1, 1, 4, 4], [2, 2, 9, 9]])], [[10, 10]], {
      boxCoder: new BoxCoder([10, 10, 5, 5]), scoreThresh: 0.25, nmsThresh: 0.5, detectionsPerImg: 100,
    });
    expect([d.boxes.shape, d.scores.shape, d.labels.shape]).toEqual([[0, 4], [0], [0]]);
    tf.dispose([d.boxes, d.scores, d.labels]);
  });

  it('rejects logits that do not match the proposals', () => {
    const p = tf.zeros([2, 4]) as tf.Tensor2D;
    const l = tf.zeros([3, 4]) as tf.Tensor2D;
    const r = tf.zeros([3, 16]) as tf.Tensor2D;
    expect(() => postprocessDetections(l, r, [p], [[10, 10]], { boxCoder: new BoxCoder([1, 1, 1, 1]), scoreThresh: 0, nmsThresh: 0.5, detectionsPerImg: 1 }))
      .toThrow(new ShapeError('postprocessDetections: classLogits must be [2,C] and boxRegression [2,4C] for 2 proposals, got [3,4] and [3,16]'));
    tf.dispose([p, l, r]);
  });
});
