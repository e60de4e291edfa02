import * as tf from '@tensorflow/tfjs-core';
import { Module } from '@residual/core';
import { resnetFpnBackbone } from '@residual/fpn';
import { expectAllClose, expectNoLeak, useBackend } from '@residual/test-utils';
import { FastRCNNPredictor } from '../src/fast-rcnn-predictor.js';
import { GeneralizedRCNN, type ProposalGenerator } from '../src/generalized-rcnn.js';
import { GeneralizedRCNNTransform } from '../src/generalized-rcnn-transform.js';
import { MultiScaleRoIAlign } from '../src/multi-scale-roi-align.js';
import { RoIHeads } from '../src/roi-heads.js';
import { TwoMLPHead } from '../src/two-mlp-head.js';
import type { Detection, Losses } from '../src/detection-types.js';
import { fixture, type Fixture } from './fixture.js';
import { NoDrawGenerator, formulaTensor, type KeyList } from './formula-weights.js';

// Transform → ResNet-FPN backbone → RoIHeads → postprocess against torchvision's fasterrcnn models with
// formula weights, with the RPN's proposals taken from the reference (so this test isolates every
// part of this package; @residual/rpn has its own parity tests).
class FixedProposals extends Module implements ProposalGenerator {
  constructor(private readonly proposals: tf.Tensor2D[]) {
    super();
  }

  forward(): { proposals: tf.Tensor2D[]; losses: Losses } {
    return { proposals: this.proposals.map((p) => tf.clone(p)), losses: {} };
  }
}

const unused = { match: (): Int32Array => new Int32Array(0), sample: () => ({ positive: [], negative: [] }) };

function build(arch: 'resnet50' | 'resnet18', numClasses: number, proposals: tf.Tensor2D[]): GeneralizedRCNN {
  const generator = new NoDrawGenerator(0);
  const backbone = resnetFpnBackbone(arch, { generator });
  const heads = new RoIHeads({
    boxRoiPool: new MultiScaleRoIAlign(['0', '1', '2', '3'], 7, 2),
    boxHead: new TwoMLPHead(256 * 7 * 7, 1024, { generator }),
    boxPredictor: new FastRCNNPredictor(1024, numClasses, { generator }),
    proposalMatcher: unused,
    fgBgSampler: unused,
  });
  const transform = new GeneralizedRCNNTransform({ minSize: 160, maxSize: 256 });
  return new GeneralizedRCNN(transform, backbone, new FixedProposals(proposals), heads).eval();
}

// parity-spec §12.3: compare as sets (label exact, box within 1e-3 px, score within 1e-4, issue 5),
// then the order: both lists are sorted by score, so position by position the scores agree within 1e-4;
// only near-ties (scores within float noise, measured 2e-6 on R50) may swap places.
function expectDetections(fx: Fixture, dets: Detection[]): void {
  dets.forEach((d, i) => {
    const want = { boxes: fx.get(`boxes.${i}`).dataSync(), scores: fx.get(`scores.${i}`).dataSync(), labels: fx.get(`labels.${i}`).dataSync() };
    const got = { boxes: d.boxes.dataSync(), scores: d.scores.dataSync(), labels: d.labels.dataSync() };
    expect(d.labels.dtype).toBe('int32');
    expect(got.scores.length).toBe(want.scores.length);
    expectAllClose(got.scores as Float32Array, want.scores as Float32Array, { rtol: 0, atol: 1e-4 });
    const used = new Set<number>();
    let swapped = 0;
    for (let k = 0; k < want.scores.length; k++) {
      const close = (j: number): boolean =>
        !used.has(j) && got.labels[j] === want.labels[k] && Math.abs(got.scores[j] - want.scores[k]) <= 1e-4
        && [0, 1, 2, 3].every((c) => Math.abs(got.boxes[4 * j + c] - want.boxes[4 * k + c]) <= 1e-3);
      const j = close(k) ? k : got.scores.findIndex((_, jj) => close(jj));
      if (j < 0) throw new Error(`image ${i}: torchvision detection ${k} (label ${want.labels[k]}, score ${want.scores[k]}) has no match`);
      used.add(j);
      if (j !== k) swapped++;
    }
    expect(swapped).toBeLessThanOrEqual(4);
  });
}

describe.each([
  ['fasterrcnn_resnet50_fpn', 'e2e_r50', 'resnet50', 91, 295],
  ['ResNet-18 FPN Faster R-CNN', 'e2e_r18', 'resnet18', 5, 130],
] as const)('%s (formula weights) against torchvision, RPN proposals injected', (_, name, arch, numClasses, numKeys) => {
  let fx: Fixture;
  let model: GeneralizedRCNN;
  beforeAll(async () => {
    await useBackend();
    fx = fixture(name);
    model = build(arch, numClasses, [fx.get('proposals.0'), fx.get('proposals.1')]);
    const keys = fx.meta<KeyList>('keys');
    expect(keys.length).toBe(numKeys);
    const dict = new Map(keys.filter(([k]) => !k.startsWith('rpn.')).map(([k, s]) => [k, formulaTensor(k, s)] as [string, tf.Tensor]));
    model.loadStateDict(dict); // strict: every key outside the RPN exists with torch's name and shape
    tf.dispose([...dict.values()]);
  }, 120000);
  afterAll(() => {
    model.dispose();
    fx.dispose();
  });

  it('predicts torchvision\'s boxes, scores and labels in original image pixels, without leaking', async () => {
    const images = [fx.get<tf.Tensor3D>('input.0'), fx.get<tf.Tensor3D>('input.1')];
    await expectNoLeak(async () => {
      const dets = await model.predict(images);
      expectDetections(fx, dets);
      return dets;
    });
  }, 120000);
});
