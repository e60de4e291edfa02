import * as tf from '@tensorflow/tfjs-core';
import { Module, ValueError } from '@residual/core';
import type { Backbone, FeatureMaps } from '@residual/fpn';
import { resnetByName } from '@residual/resnet';
import { AnchorGenerator, type BalancedPositiveNegativeSampler } from '@residual/rpn';
import { countTensors, useBackend } from '@residual/test-utils';
import { fixture } from '../test/fixture.js';
import { NoDrawGenerator, type KeyList } from '../test/formula-weights.js';
import { FastRCNNPredictor } from './fast-rcnn-predictor.js';
import { FasterRCNN } from './faster-rcnn.js';
import { GeneralizedRCNNTransform, type GeneralizedRCNNTransformOptions } from './generalized-rcnn-transform.js';
import { RoIHeads, type RoIHeadsOptions } from './roi-heads.js';
import { fasterrcnnResnet50Fpn, fasterrcnnResnetFpn } from './faster-rcnn-builders.js';
import { TwoMLPHead } from './two-mlp-head.js';

/** A stand-in backbone for option tests (never run). */
class StubBackbone extends Module implements Backbone {
  constructor(readonly outChannels = 8) {
    super();
  }

  forward(): FeatureMaps {
    throw new Error('StubBackbone.forward: not used by these tests');
  }

  outputShape(): Record<string, { channels: number; stride: number }> {
    return {};
  }
}

const generator = new NoDrawGenerator(0);

describe('FasterRCNN(backbone, options)', () => {
  beforeAll(async () => {
    await useBackend();
  });

  it('builds torchvision\'s default parts (parity-spec §10.3)', () => {
    const model = new FasterRCNN(new StubBackbone(8), { numClasses: 3, generator });
    try {
      const { transform, rpn, roiHeads } = model;
      expect([transform.minSize, transform.maxSize, transform.imageMean, transform.imageStd]).toEqual([
        [800], 1333, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225],
      ]);
      expect(rpn.anchorGenerator.sizes).toEqual([[32], [64], [128], [256], [512]]);
      expect(rpn.anchorGenerator.aspectRatios).toEqual(Array(5).fill([0.5, 1, 2]));
      expect(rpn.head.numAnchors).toBe(3);
      expect(rpn.head.clsLogits.weight.shape[3]).toBe(3); // conv kernel [kh,kw,in,out]
      expect([rpn.preNmsTopN, rpn.postNmsTopN]).toEqual([{ training: 2000, testing: 1000 }, { training: 2000, testing: 1000 }]);
      expect([rpn.nmsThresh, rpn.scoreThresh]).toEqual([0.7, 0]);
      const m = rpn.proposalMatcher;
      expect([m.highThreshold, m.lowThreshold, m.allowLowQualityMatches]).toEqual([0.7, 0.3, true]);
      const s = rpn.fgBgSampler as BalancedPositiveNegativeSampler;
      expect([s.batchSizePerImage, s.positiveFraction]).toEqual([256, 0.5]);
      const pool = roiHeads.boxRoiPool;
      expect([pool.featmapNames, pool.outputSize, pool.samplingRatio]).toEqual([['0', '1', '2', '3'], [7, 7], 2]);
      const head = roiHeads.boxHead as TwoMLPHead;
      expect([head.fc6.inFeatures, head.fc6.outFeatures, head.fc7.outFeatures]).toEqual([8 * 7 * 7, 1024, 1024]);
      expect([roiHeads.boxPredictor.clsScore.inFeatures, roiHeads.boxPredictor.numClasses]).toEqual([1024, 3]);
      expect([roiHeads.scoreThresh, roiHeads.nmsThresh, roiHeads.detectionsPerImg]).toEqual([0.05, 0.5, 100]);
      expect(roiHeads.boxCoder.weights).toEqual([10, 10, 5, 5]);
    } finally {
      model.dispose();
    }
  });

  it('matches RoIs at IoU 0.5 without low-quality matches and samples 512 per image at 25 % positives', () => {
    const model = new FasterRCNN(new StubBackbone(), { numClasses: 2, generator });
    try {
      const quality = tf.tensor2d([[0.2, 0.5, 0.49999], [0.3, 0.1, 0.4]]); // 2 gt × 3 proposals
      // Proposal 0's best IoU is 0.3 (< 0.5): background even though it is gt 1's best (no low-quality rule).
      expect(Array.from(model.roiHeads.proposalMatcher.match(quality))).toEqual([-1, 0, -1]);
      quality.dispose();
      const labels = Int32Array.from({ length: 2000 }, (_, i) => (i < 1000 ? 1 : 0));
      const { positive, negative } = model.roiHeads.fgBgSampler.sample([labels]);
      const count = (m: Uint8Array): number => m.reduce((a, b) => a + b, 0);
      expect([count(positive[0]), count(negative[0])]).toEqual([128, 384]);
    } finally {
      model.dispose();
    }
  });

  it('passes every option on (camelCase torchvision names) and adopts the parts given', () => {
    const anchors = new AnchorGenerator([[16, 24], [32, 48]], [[1], [1]]);
    const boxHead = new TwoMLPHead(4 * 5 * 5, 16, { generator });
    const boxPredictor = new FastRCNNPredictor(16, 4, { generator });
    const model = new FasterRCNN(new StubBackbone(4), {
      minSize: [96, 128], maxSize: 160, imageMean: [0.5, 0.5, 0.5], imageStd: [0.25, 0.25, 0.25],
      rpnAnchorGenerator: anchors, rpnPreNmsTopNTrain: 300, rpnPreNmsTopNTest: 200, rpnPostNmsTopNTrain: 100,
      rpnPostNmsTopNTest: 50, rpnNmsThresh: 0.6, rpnFgIouThresh: 0.8, rpnBgIouThresh: 0.2, rpnBatchSizePerImage: 64,
      rpnPositiveFraction: 0.25, rpnScoreThresh: 0.1, boxHead, boxPredictor, boxScoreThresh: 0.3, boxNmsThresh: 0.4,
      boxDetectionsPerImg: 7, boxBatchSizePerImage: 16, boxPositiveFraction: 0.5, bboxRegWeights: [1, 2, 3, 4], generator,
    });
    try {
      expect([model.transform.minSize, model.transform.maxSize, model.transform.imageStd]).toEqual([[96, 128], 160, [0.25, 0.25, 0.25]]);
      const { rpn, roiHeads } = model;
      expect(rpn.anchorGenerator).toBe(anchors);
      expect(rpn.head.numAnchors).toBe(2); // anchors per location of the first level
      expect([rpn.preNmsTopN, rpn.postNmsTopN]).toEqual([{ training: 300, testing: 200 }, { training: 100, testing: 50 }]);
      expect([rpn.nmsThresh, rpn.scoreThresh, rpn.proposalMatcher.highThreshold, rpn.proposalMatcher.lowThreshold]).toEqual([0.6, 0.1, 0.8, 0.2]);
      const s = rpn.fgBgSampler as BalancedPositiveNegativeSampler;
      expect([s.batchSizePerImage, s.positiveFraction]).toEqual([64, 0.25]);
      expect([roiHeads.boxHead, roiHeads.boxPredictor]).toEqual([boxHead, boxPredictor]);
      expect([roiHeads.scoreThresh, roiHeads.nmsThresh, roiHeads.detectionsPerImg, roiHeads.boxCoder.weights]).toEqual([0.3, 0.4, 7, [1, 2, 3, 4]]);
      const labels = Int32Array.from({ length: 100 }, (_, i) => (i < 50 ? 1 : 0));
      const { positive } = roiHeads.fgBgSampler.sample([labels]);
      expect(positive[0].reduce((a, b) => a + b, 0)).toBe(8);
      expect([...model.stateDict().keys()].filter((k) => k.startsWith('roi_heads.')).length).toBe(8);
    } finally {
      model.dispose();
    }
  });

  it('rejects numClasses together with boxPredictor, neither of them, and a bad numClasses', () => {
    const boxPredictor = new FastRCNNPredictor(1024, 3, { generator });
    const backbone = new StubBackbone();
    const before = countTensors();
    expect(() => new FasterRCNN(backbone, { numClasses: 3, boxPredictor })).toThrow(
      new ValueError('FasterRCNN: numClasses should be undefined when boxPredictor is specified, got 3'),
    );
    expect(() => new FasterRCNN(backbone, {})).toThrow(
      new ValueError('FasterRCNN: numClasses should not be undefined when boxPredictor is not specified'),
    );
    expect(() => new FasterRCNN(backbone, { numClasses: 2.5 })).toThrow(
      new ValueError('FasterRCNN: numClasses must be a positive integer (background included), got 2.5'),
    );
    expect(() => new FasterRCNN(new StubBackbone(0), { numClasses: 2 })).toThrow(
      new ValueError('FasterRCNN: backbone.outChannels must be a positive integer, got 0'),
    );
    // A part that fails after others were built: those are disposed, the caller's are not.
    expect(() => new FasterRCNN(backbone, { numClasses: 2, rpnPreNmsTopNTest: -1, generator })).toThrow(ValueError);
    expect(countTensors()).toBe(before);
    expect(boxPredictor.clsScore.weight.isDisposed).toBe(false);
    tf.dispose([...boxPredictor.parameters()]);
    backbone.dispose();
  });

  it('lets a subclass build roi_heads and transform from the resolved options, once, and frees its parts when a factory throws', () => {
    const seen: { roi?: RoIHeadsOptions; transform?: GeneralizedRCNNTransformOptions } = {};
    const model = new FasterRCNN(new StubBackbone(8), { numClasses: 3, minSize: 320, boxScoreThresh: 0.2, generator }, {
      roiHeads: (o) => {
        seen.roi = o;
        return new RoIHeads({ ...o, detectionsPerImg: 9 });
      },
      transform: (o) => {
        seen.transform = o;
        return new GeneralizedRCNNTransform({ ...o, sizeDivisible: 64 });
      },
    });
    try {
      expect(seen.roi?.scoreThresh).toBe(0.2);
      expect(seen.roi?.boxPredictor).toBe(model.roiHeads.boxPredictor); // the parts built once, handed over
      expect([seen.transform?.minSize, seen.transform?.maxSize]).toEqual([320, 1333]);
      expect([model.roiHeads.detectionsPerImg, model.transform.sizeDivisible]).toEqual([9, 64]);
    } finally {
      model.dispose();
    }
    const before = countTensors();
    const fail = (): never => {
      throw new ValueError('a subclass part failed');
    };
    expect(() => new FasterRCNN(new StubBackbone(8), { numClasses: 3, generator }, { roiHeads: fail })).toThrow(
      new ValueError('a subclass part failed'),
    );
    expect(countTensors()).toBe(before); // the RPN head, box head and predictor built before it are freed
  });
});

describe('fasterrcnnResnet50Fpn / fasterrcnnResnetFpn', () => {
  beforeAll(async () => {
    await useBackend();
  });

  it('has torchvision\'s 295 state-dict entries, names and shapes (fasterrcnn_resnet50_fpn, 91 classes)', () => {
    const want = fixture('e2e_r50');
    const model = fasterrcnnResnet50Fpn({ generator });
    try {
      const keys = want.meta<KeyList>('keys');
      expect(keys).toHaveLength(295);
      const dict = model.stateDict();
      const got = [...dict].map(([k, t]) => [k, t.shape]);
      tf.dispose([...dict.values()]);
      expect(got).toEqual(keys);
      expect(model.roiHeads.boxPredictor.numClasses).toBe(91);
    } finally {
      model.dispose();
      want.dispose();
    }
  }, 60000);

  it('freezes all but trainableBackboneLayers stages, sets frozenBnEps and loads weightsBackbone', () => {
    const resnet = resnetByName('resnet18', { generator }); // BatchNorm2d: an ImageNet-style checkpoint
    const weightsBackbone = resnet.stateDict();
    resnet.dispose();
    weightsBackbone.get('conv1.weight')?.dispose();
    weightsBackbone.set('conv1.weight', tf.fill([64, 3, 7, 7], 0.25));
    const model = fasterrcnnResnetFpn('resnet18', { numClasses: 4, trainableBackboneLayers: 1, frozenBnEps: 0, generator, weightsBackbone });
    try {
      const trainable = [...model.trainableParameters().keys()].filter((k) => k.startsWith('backbone.body.'));
      expect(trainable.length).toBeGreaterThan(0);
      expect(trainable.every((k) => k.startsWith('backbone.body.layer4.'))).toBe(true);
      const bns = [...model.namedModules().values()].filter((m) => 'eps' in m && 'runningVar' in m) as unknown as Array<{ eps: number }>;
      expect(bns.length).toBe(20); // resnet18: bn1 + 8 blocks × 2 + 3 downsample
      expect(bns.every((m) => m.eps === 0)).toBe(true);
      expect(model.backbone.namedParameters().get('body.conv1.weight')?.dataSync()[0]).toBe(0.25);
    } finally {
      model.dispose();
      tf.dispose([...weightsBackbone.values()]);
    }
  });

  it('throws the builder\'s errors without leaking the backbone', () => {
    const boxPredictor = new FastRCNNPredictor(1024, 3, { generator });
    const before = countTensors();
    expect(() => fasterrcnnResnetFpn('resnet18', { numClasses: 3, boxPredictor, generator })).toThrow(
      new ValueError('FasterRCNN: numClasses should be undefined when boxPredictor is specified, got 3'),
    );
    expect(() => fasterrcnnResnetFpn('resnet18', { trainableBackboneLayers: 6, generator })).toThrow(
      new ValueError('resnetFpnBackbone: trainableLayers must be an integer in [0,5], got 6'),
    );
    expect(countTensors()).toBe(before);
    boxPredictor.dispose();
  });
});
