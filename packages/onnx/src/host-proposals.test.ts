import * as tf from '@tensorflow/tfjs-core';
import { BoxCoder, Generator } from '@residual/core';
import { AnchorGenerator, RegionProposalNetwork, RPNHead } from '@residual/rpn';
import { expectNoLeak, useBackend } from '@residual/test-utils';
import { hostDecode, hostRpnProposals, topkIndices } from './host-proposals.js';
import { rpnProposals } from './rpn-proposals.js';

// The engine's host proposal selection against rpnProposals (the RPN's inference half on tfjs tensors).
beforeAll(async () => {
  await useBackend();
});

describe('topkIndices', () => {
  it('gives the k largest in descending order, ties by ascending index, NaN first', () => {
    const v = [0, 5, 1, 5, NaN, 3, 9, 1];
    expect(Array.from(topkIndices(v, 0, 8, 4))).toEqual([4, 6, 1, 3]);
    expect(Array.from(topkIndices(v, 2, 4, 2))).toEqual([2, 1]); // within [1, 5, NaN, 3]
    expect(Array.from(topkIndices(v, 5, 3, 5))).toEqual([1, 0, 2]); // k ≥ count: all, sorted
  });
});

describe('hostDecode', () => {
  it('equals BoxCoder.decode, dw/dh clamped at bboxXformClip', () => {
    const gen = new Generator(4);
    const coder = new BoxCoder([10, 10, 5, 5]);
    const deltas = tf.tidy(() => tf.concat([tf.mul(gen.normalTensor([6, 4]), 3), tf.tensor2d([[0, 0, 40, 40]])])) as tf.Tensor2D; // last: far past the clip
    const refs = tf.tidy(() => {
      const xy = tf.mul(gen.uniform([7, 2]), 50);
      return tf.concat([xy, tf.add(xy, tf.add(tf.mul(gen.uniform([7, 2]), 30), 1))], 1) as tf.Tensor2D;
    });
    const want = tf.tidy(() => coder.decode(deltas, refs).dataSync());
    const got = hostDecode(deltas.dataSync() as Float32Array, refs.dataSync() as Float32Array, coder.weights, Math.fround(coder.bboxXformClip));
    got.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want[i]))));
    expect(Number.isFinite(got[27])).toBe(true);
    tf.dispose([deltas, refs]);
  });
});

describe('hostRpnProposals', () => {
  it('equals rpnProposals on random head outputs (two images, two levels, pre-NMS top-k cutting the first level)', async () => {
    const gen = new Generator(5);
    const rpn = new RegionProposalNetwork({
      anchorGenerator: new AnchorGenerator([[16], [32]]),
      head: new RPNHead(4, 3, 1, { generator: gen }),
      preNmsTopN: { training: 50, testing: 50 },
      postNmsTopN: { training: 40, testing: 40 },
      nmsThresh: 0.7,
    });
    const batch = { tensor: tf.zeros([2, 64, 64, 3]) as tf.Tensor4D, imageSizes: [[64, 60], [50, 64]] as Array<[number, number]> };
    const maps = [tf.zeros([2, 16, 16, 4]), tf.zeros([2, 8, 8, 4])] as tf.Tensor4D[];
    const logits = [gen.normalTensor([2, 16, 16, 3]), gen.normalTensor([2, 8, 8, 3])] as tf.Tensor4D[];
    const deltas = [tf.mul(gen.normalTensor([2, 16, 16, 12]), 0.3), tf.mul(gen.normalTensor([2, 8, 8, 12]), 0.3)] as tf.Tensor4D[];
    const want = rpnProposals(rpn, batch, maps, logits, deltas);
    const host = (t: tf.Tensor): { data: Float32Array; shape: number[] } => ({ data: t.dataSync() as Float32Array, shape: [...t.shape] });
    const anchors = tf.tidy(() => rpn.anchorGenerator.forward(batch, maps).dataSync() as Float32Array);
    const got = await expectNoLeak(() => {
      const boxes = hostRpnProposals(rpn, batch, anchors, logits.map(host), deltas.map(host));
      return boxes.map((b) => ({ shape: b.shape, values: b.dataSync(), tensor: b }));
    });
    got.forEach((g, i) => {
      expect(g.shape).toEqual(want[i].shape);
      expect(Array.from(g.values)).toEqual(Array.from(want[i].dataSync()));
    });
    expect(got[0].shape[0]).toBeGreaterThan(0);
    tf.dispose([batch.tensor, ...maps, ...logits, ...deltas, ...want]);
    rpn.anchorGenerator.dispose();
    rpn.dispose();
  });
});
