import * as tf from '@tensorflow/tfjs-core';
import { BoxCoder, Generator } from '@residual/core';
import { postprocessDetections, type Detection } from '@residual/faster-rcnn';
import { expectNoLeak, useBackend } from '@residual/test-utils';
import { hostPostprocessDetections } from './host-postprocess.js';

// The engine's host postprocessing against faster-rcnn's postprocessDetections on the same head outputs.
beforeAll(async () => {
  await useBackend();
});

const options = { boxCoder: new BoxCoder([10, 10, 5, 5]), scoreThresh: 0.05, nmsThresh: 0.5, detectionsPerImg: 7 };

function values(d: Detection): number[][] {
  return [Array.from(d.boxes.dataSync()), Array.from(d.scores.dataSync()), Array.from(d.labels.dataSync())];
}

describe('hostPostprocessDetections', () => {
  it('equals postprocessDetections: two images, overlapping candidates, boxes clipped and capped per image', async () => {
    const gen = new Generator(9);
    const c = 4;
    const [r0, r1] = [12, 9];
    // Logits scaled so that several classes pass 0.05 and NMS has overlapping boxes to suppress.
    const logits = tf.mul(gen.normalTensor([r0 + r1, c]), 2) as tf.Tensor2D;
    const regression = tf.mul(gen.normalTensor([r0 + r1, 4 * c]), 0.5) as tf.Tensor2D;
    const box = (n: number, size: number): tf.Tensor2D =>
      tf.tidy(() => {
        const xy = tf.mul(gen.uniform([n, 2]), size * 0.6);
        return tf.concat([xy, tf.add(xy, tf.add(tf.mul(gen.uniform([n, 2]), size * 0.5), 2))], 1) as tf.Tensor2D;
      });
    const proposals = [box(r0, 40), box(r1, 30)];
    const sizes: Array<[number, number]> = [[40, 36], [30, 30]];
    const want = postprocessDetections(logits, regression, proposals, sizes, options);
    const host = (t: tf.Tensor): { data: Float32Array; shape: number[] } => ({ data: t.dataSync() as Float32Array, shape: [...t.shape] });
    const got = await expectNoLeak(() => {
      const dets = hostPostprocessDetections(host(logits), host(regression), proposals, sizes, options);
      return dets.map((d) => ({ values: values(d), dets: d }));
    });
    got.forEach((g, i) => expect(g.values).toEqual(values(want[i])));
    expect(got[0].values[1].length).toBe(7);
    tf.dispose([logits, regression, ...proposals, ...want.flatMap((d) => [d.boxes, d.scores, d.labels])]);
  });

  it('gives empty detections when no score passes the threshold', () => {
    const logits = { data: new Float32Array([9, 0, 0, 9, 0, 0]), shape: [2, 3] };
    const regression = { data: new Float32Array(24), shape: [2, 12] };
    const proposals = [tf.tensor2d([[0, 0, 4, 4], [1, 1, 5, 5]])];
    const [d] = hostPostprocessDetections(logits, regression, proposals, [[8, 8]], options);
    expect([d.boxes.shape, d.scores.shape, d.labels.shape, d.labels.dtype]).toEqual([[0, 4], [0], [0], 'int32']);
    tf.dispose([...proposals, d.boxes, d.scores, d.labels]);
  });
});
