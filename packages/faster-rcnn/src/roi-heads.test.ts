import * as tf from '@tensorflow/tfjs-core';
import { Generator, ValueError } from '@residual/core';
import { expectAllClose, expectNoLeak, useBackend } from '@residual/test-utils';
import { fixture, type Fixture } from '../test/fixture.js';
import { FastRCNNPredictor } from './fast-rcnn-predictor.js';
import { MultiScaleRoIAlign } from './multi-scale-roi-align.js';
import { RoIHeads, type FgBgSampler, type ProposalMatcher } from './roi-heads.js';
import { TwoMLPHead } from './two-mlp-head.js';

// Test doubles with torchvision's semantics for fg = bg = 0.5 without low-quality matches: the best gt
// (lowest index on ties), −1 below 0.5. The real Matcher and sampler live in @residual/rpn.
const halfMatcher: ProposalMatcher = {
  match(quality) {
    const [g, p] = quality.shape;
    const q = quality.dataSync();
    const out = new Int32Array(p);
    for (let j = 0; j < p; j++) {
      let best = 0;
      for (let i = 1; i < g; i++) if (q[i * p + j] > q[best * p + j]) best = i;
      out[j] = q[best * p + j] < 0.5 ? -1 : best;
    }
    return out;
  },
};
const takeAll: FgBgSampler = {
  sample: (labels) => ({
    positive: labels.map((l) => Uint8Array.from(l, (v) => (v >= 1 ? 1 : 0))),
    negative: labels.map((l) => Uint8Array.from(l, (v) => (v === 0 ? 1 : 0))),
  }),
};

function heads(sampler: FgBgSampler, channels = 3, numClasses = 4): RoIHeads {
  const gen = new Generator(1);
  return new RoIHeads({
    boxRoiPool: new MultiScaleRoIAlign(['0', '1'], 7, 2),
    boxHead: new TwoMLPHead(channels * 49, 16, { generator: gen }),
    boxPredictor: new FastRCNNPredictor(16, numClasses, { generator: gen }),
    proposalMatcher: halfMatcher,
    fgBgSampler: sampler,
  });
}

describe('RoIHeads', () => {
  let fx: Fixture;
  beforeAll(async () => {
    await useBackend();
    fx = fixture('fastrcnn_loss');
  });
  afterAll(() => fx.dispose());

  const inputs = (): { proposals: tf.Tensor2D[]; targets: Array<{ boxes: tf.Tensor2D; labels: tf.Tensor1D }> } => ({
    proposals: [0, 1].map((i) => fx.get<tf.Tensor2D>(`proposals.${i}`)),
    targets: [0, 1].map((i) => ({ boxes: fx.get<tf.Tensor2D>(`gt_boxes.${i}`), labels: fx.get<tf.Tensor1D>(`gt_labels.${i}`) })),
  });

  for (const [prefix, what] of [['all', 'every candidate sampled'], ['s', 'the sampler draws torchvision recorded']] as const) {
    it(`selects training samples as torchvision (${what}), including an image without boxes`, async () => {
      const recorded: FgBgSampler = {
        sample: () => ({
          positive: [0, 1].map((i) => Uint8Array.from(fx.get(`s.pos.${i}`).dataSync())),
          negative: [0, 1].map((i) => Uint8Array.from(fx.get(`s.neg.${i}`).dataSync())),
        }),
      };
      const h = heads(prefix === 'all' ? takeAll : recorded);
      const { proposals, targets } = inputs();
      await expectNoLeak(() => {
        const s = h.selectTrainingSamples(proposals, targets);
        [0, 1].forEach((i) => {
          expectAllClose(s.proposals[i], fx.get(`${prefix}.props.${i}`), { rtol: 0, atol: 0 });
          expect(Array.from(s.labels[i].dataSync())).toEqual(Array.from(fx.get(`${prefix}.labels.${i}`).dataSync()));
          expect(Array.from(s.matchedIdxs[i].dataSync())).toEqual(Array.from(fx.get(`${prefix}.matched.${i}`).dataSync()));
          expectAllClose(s.regressionTargets[i], fx.get(`${prefix}.reg.${i}`));
        });
        return s;
      });
      h.dispose();
    });
  }

  it('returns the two box losses in training and detections in eval, without leaks', async () => {
    const h = heads(takeAll);
    const { proposals, targets } = inputs();
    const features = new Map([
      ['0', tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 1) as tf.Tensor4D],
      ['1', tf.randomNormal([2, 16, 16, 3], 0, 1, 'float32', 2) as tf.Tensor4D],
    ]);
    const sizes: Array<[number, number]> = [[120, 128], [128, 100]];
    const train = await expectNoLeak(() => h.forward(features, proposals, sizes, targets));
    expect(Object.keys(train.losses)).toEqual(['loss_classifier', 'loss_box_reg']);
    expect(train.detections).toEqual([]);
    h.eval();
    const evalOut = await expectNoLeak(() => h.forward(features, proposals, sizes));
    expect(evalOut.losses).toEqual({});
    expect(evalOut.detections.length).toBe(2);
    const g = tf.grads((a: tf.Tensor) => {
      h.train();
      const { losses } = h.forward(new Map([['0', a as tf.Tensor4D], ['1', features.get('1') as tf.Tensor4D]]), proposals, sizes, targets);
      return tf.add(losses.loss_classifier as tf.Scalar, losses.loss_box_reg as tf.Scalar);
    })([features.get('0') as tf.Tensor]);
    expect(tf.sum(tf.abs(g[0])).dataSync()[0]).toBeGreaterThan(0);
    tf.dispose([...g, ...features.values()]);
    h.dispose();
  });

  it('needs targets in training', () => {
    const h = heads(takeAll);
    const { proposals } = inputs();
    expect(() => h.forward(new Map(), proposals, [[1, 1], [1, 1]])).toThrow(
      new ValueError('RoIHeads.forward: training needs one target per image (2), got none'),
    );
    h.dispose();
  });
});
