import * as tf from '@tensorflow/tfjs-core';
import { Conv2d, Generator, Module, ReLU, SGD, Sequential, ValueError } from '@residual/core';
import { BackboneWithFPN } from '@residual/fpn';
import { AnchorGenerator } from '@residual/rpn';
import { expectNoLeak, useBackend } from '@residual/test-utils';
import type { DetectionTarget, LossName } from '../src/detection-types.js';
import { FastRCNNPredictor } from '../src/fast-rcnn-predictor.js';
import { FasterRCNN } from '../src/faster-rcnn.js';
import { trainStep } from '../src/train-step.js';
import { TwoMLPHead } from '../src/two-mlp-head.js';

// A tiny Faster R-CNN — a 5-stage conv body (strides 2–32, no max pool: core's MaxPool2d gradient
// costs ~25 s per step in jest, see the report) + a 32-channel FPN via BackboneWithFPN, 16–256 px
// anchors, a 128-wide box head — trained with SGD on wasm on two small synthetic images (bright
// rectangles on noise: three boxes on the first, one on the second).

const LOSSES: LossName[] = ['loss_classifier', 'loss_box_reg', 'loss_objectness', 'loss_rpn_box_reg'];

/** stem (stride 2), layer1..layer4 (strides 4–32): each a 3×3 stride-2 conv + ReLU, NHWC. */
class TinyBody extends Module {
  constructor(widths: number[], generator: Generator) {
    super();
    ['stem', 'layer1', 'layer2', 'layer3', 'layer4'].forEach((name, i) => {
      const conv = new Conv2d(i === 0 ? 3 : widths[i - 1], widths[i], 3, { stride: 2, padding: 1, generator });
      this.registerModule(name, new Sequential(conv, new ReLU()));
    });
  }
}

function tinyModel(seed: number): FasterRCNN {
  const generator = new Generator(seed);
  const widths = [16, 16, 32, 32, 64];
  const body = new TinyBody(widths, generator);
  const backbone = new BackboneWithFPN(body, { layer1: '0', layer2: '1', layer3: '2', layer4: '3' }, widths.slice(1), 32, null, { generator });
  return new FasterRCNN(backbone, {
    minSize: 96,
    maxSize: 128,
    rpnAnchorGenerator: new AnchorGenerator([[16], [32], [64], [128], [256]]),
    rpnPreNmsTopNTest: 200,
    rpnPostNmsTopNTest: 50,
    rpnBatchSizePerImage: 64,
    boxBatchSizePerImage: 32,
    boxHead: new TwoMLPHead(32 * 7 * 7, 128, { generator }),
    boxPredictor: new FastRCNNPredictor(128, 3, { generator }),
    generator,
  });
}

/** An HWC image in [0,1]: noise in [0, 0.3] with each box filled at 0.6 (label 1) or 0.95 (label 2). */
function scene(h: number, w: number, boxes: number[][], labels: number[], gen: Generator): { image: tf.Tensor3D; target: DetectionTarget } {
  const values = gen.uniform([h, w, 3], 0, 0.3).dataSync() as Float32Array;
  boxes.forEach(([x1, y1, x2, y2], k) => {
    for (let y = y1; y < y2; y++) for (let x = x1; x < x2; x++) for (let c = 0; c < 3; c++) values[(y * w + x) * 3 + c] = labels[k] === 1 ? 0.6 : 0.95;
  });
  const image = tf.tensor3d(values, [h, w, 3]);
  const target = { boxes: tf.tensor2d(boxes.flat(), [boxes.length, 4]), labels: tf.tensor1d(labels, 'int32') };
  return { image, target };
}

describe('training a tiny Faster R-CNN on wasm', () => {
  let model: FasterRCNN;
  let images: tf.Tensor3D[];
  let targets: DetectionTarget[];
  beforeAll(async () => {
    await useBackend();
    const gen = new Generator(3);
    const scenes = [
      scene(96, 128, [[10, 12, 50, 60], [70, 30, 118, 86], [20, 70, 44, 90]], [1, 2, 1], gen),
      scene(112, 96, [[30, 20, 80, 64]], [2], gen),
    ];
    images = scenes.map((s) => s.image);
    targets = scenes.map((s) => s.target);
  });
  beforeEach(() => {
    model = tinyModel(0);
  });
  afterEach(() => model.dispose());
  afterAll(() => tf.dispose([...images, ...targets.flatMap((t) => [t.boxes, t.labels])]));

  it('lowers each of the four losses within a few SGD steps', () => {
    const sgd = new SGD(model.trainableParameters(), { lr: 0.02, momentum: 0.9 });
    const history = Array.from({ length: 16 }, () => trainStep(model, sgd, images, targets));
    sgd.dispose();
    // Sampling makes single steps noisy (loss_box_reg ±0.07): compare the means of the first and last
    // four steps. Measured (first → last): classifier 1.09 → 0.44, box_reg 0.73 → 0.56,
    // objectness 0.690 → 0.607, rpn_box_reg 0.0380 → 0.0366 (the RPN deltas start near 0: N(0, 0.01²) init).
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    for (const name of LOSSES) {
      const curve = history.map((h) => h[name]);
      expect(curve.every((v) => Number.isFinite(v) && v >= 0)).toBe(true);
      const [first, last] = [mean(curve.slice(0, 4)), mean(curve.slice(-4))];
      expect({ name, first, fell: last < 0.98 * first }).toEqual({ name, first, fell: true });
    }
  }, 120000);

  it('leaks nothing in predict, forwardTrain and trainStep (after a first call fills the anchor cache and momentum)', async () => {
    model.eval();
    const sgd = new SGD(model.trainableParameters(), { lr: 0.001, momentum: 0.9 });
    tf.dispose(await model.predict(images[0]).then((d) => d.flatMap((x) => [x.boxes, x.scores, x.labels])));
    trainStep(model, sgd, images, targets);
    const dets = await expectNoLeak(() => model.predict(images));
    expect(dets.map((d) => d.boxes.shape[1])).toEqual([4, 4]);
    const losses = await expectNoLeak(() => model.forwardTrain(images, targets));
    expect(Object.keys(losses).sort()).toEqual([...LOSSES].sort());
    const values = await expectNoLeak(() => trainStep(model, sgd, images, targets));
    expect(Object.keys(values).sort()).toEqual([...LOSSES].sort());
    expect(model.training).toBe(false); // a model in eval mode stays in eval mode
    sgd.dispose();
  }, 120000);

  it('clips the gradients to maxGradNorm: plain SGD then moves the parameters by at most lr · maxGradNorm', () => {
    const sgd = new SGD(model.trainableParameters(), { lr: 1 });
    const params = [...model.trainableParameters().values()];
    const before = params.map((p) => tf.clone(p));
    try {
      trainStep(model, sgd, images, targets, { maxGradNorm: 1e-3 });
      const moved = Math.sqrt(tf.tidy(() => tf.addN(params.map((p, i) => tf.sum(tf.square(tf.sub(p, before[i]))))).dataSync()[0]));
      expect(moved).toBeGreaterThan(0);
      expect(moved).toBeLessThanOrEqual(1e-3 * (1 + 1e-4));
    } finally {
      sgd.dispose();
      tf.dispose(before);
    }
  }, 60000);

  it('skips the update when a loss is not finite, returning the losses', () => {
    const sgd = new SGD(model.trainableParameters(), { lr: 0.01 });
    const params = [...model.trainableParameters().values()];
    const before = params.map((p) => tf.clone(p));
    const nanImage = tf.add(images[1], tf.scalar(NaN)) as tf.Tensor3D;
    try {
      const losses = trainStep(model, sgd, [nanImage], [targets[1]]);
      expect(Object.values(losses).some((v) => !Number.isFinite(v))).toBe(true);
      params.forEach((p, i) => expect(Array.from(p.dataSync())).toEqual(Array.from(before[i].dataSync())));
    } finally {
      sgd.dispose();
      tf.dispose([nanImage, ...before]);
    }
  }, 60000);

  it('trains on an image without objects', () => {
    const empty = { boxes: tf.zeros([0, 4]) as tf.Tensor2D, labels: tf.zeros([0], 'int32') as tf.Tensor1D };
    const sgd = new SGD(model.trainableParameters(), { lr: 0.001 });
    try {
      const losses = trainStep(model, sgd, [images[1]], [empty]);
      expect(Math.abs(losses.loss_box_reg)).toBe(0); // −0: torch's 0 kept connected to the graph (sum · 0)
      // 0 in torch. @residual/rpn sums an empty [0,4] smooth-L1 and tfjs-wasm's Sum of an empty tensor
      // returns uninitialised memory (measured ~1e-41): reported to rpn's owner.
      expect(Math.abs(losses.loss_rpn_box_reg)).toBeLessThan(1e-30);
      expect(losses.loss_objectness).toBeGreaterThan(0);
      expect(losses.loss_classifier).toBeGreaterThan(0);
    } finally {
      sgd.dispose();
      tf.dispose([empty.boxes, empty.labels]);
    }
  }, 60000);

  it('rejects a degenerate target box, naming it in resized coordinates', () => {
    const bad = { boxes: tf.tensor2d([[10, 12, 50, 60], [40, 30, 40, 70]]), labels: tf.tensor1d([1, 2], 'int32') };
    try {
      // image 1 (112×96) is resized by 96/96 = 1: coordinates unchanged.
      expect(() => model.forwardTrain([images[0], images[1]], [targets[0], bad])).toThrow(
        new ValueError(
          'GeneralizedRCNN.forward: all bounding boxes should have positive height and width; found invalid box [40, 30, 40, 70] (box 1, resized coordinates) for target at index 1',
        ),
      );
    } finally {
      tf.dispose([bad.boxes, bad.labels]);
    }
  });
});
