import * as tf from '@tensorflow/tfjs-core';
import {
  AdamW, BatchNorm2d, Conv2d, Generator, LayerNorm, Linear, MaxPool2d, ReLU, SGD, Sequential,
  batchedNms, bboxToRle, boxIou, crossEntropy, roiAlign, type Gradients, type Module,
} from '@residual/core';
import { CocoDataset, DataLoader, ShapesDataset, compose, disposeSample, normalize, randomHorizontalFlip, resize } from '@residual/data';
import { CocoEvaluator, type CocoDatasetJson, type CocoResult } from '@residual/eval';
import { trainStep } from '@residual/faster-rcnn';
import { toCocoResults } from '@residual/mask-rcnn';
import { MaePretrainer, maeVitTestPatch8 } from '@residual/mae';
import { BasicBlock, ResNet, cifarResnet } from '@residual/resnet';
import { AnchorGenerator, RPNHead, RegionProposalNetwork } from '@residual/rpn';
import { useBackend } from '@residual/test-utils';
import { vitTestPatch8 } from '@residual/vit';
import { measureRepeatedCalls } from './steady-memory.js';
import { disposeScene, tinyFasterRcnn, tinyFpnBackbone, tinyMaskRcnn, tinyScene, type Scene } from './tiny-models.js';

// Issue 10's leak suite: every public model call and training step, repeated (50 times, or at
// least 5 for the slow ones) after one warm-up call, leaves tf.memory()'s tensor count and bytes
// exactly where they were. Each `it` names the calls it covers; a failure names the call.

/** Fails, naming the call, unless `times` calls of `fn` (after a warm-up) leave the counters unchanged. */
async function expectSteady(name: string, times: number, fn: () => unknown): Promise<void> {
  const { before, after } = await measureRepeatedCalls(times, fn);
  expect({ name, ...after }).toEqual({ name, ...before });
}

/** Gradients of `loss` with respect to the module's trainable parameters, then one optimiser step. */
function optimiserStep(module: Module, optimizer: { step(g: Gradients): void }, loss: () => tf.Scalar): number {
  const { value, grads } = tf.variableGrads(loss, [...module.trainableParameters().values()]);
  try {
    optimizer.step(grads as Gradients);
    return value.dataSync()[0];
  } finally {
    tf.dispose([value, ...Object.values(grads)]);
  }
}

describe('the leak suite: repeated public calls leave tf.memory() unchanged', () => {
  const gen = new Generator(0);
  let scene: Scene;
  beforeAll(async () => {
    await useBackend();
    scene = tinyScene(gen);
  });
  afterAll(() => disposeScene(scene));

  it('core layers: forward, backward and an SGD step of conv/BN/ReLU/pool/linear, plus box ops, RoIAlign and NMS', async () => {
    const net = new Sequential(new Conv2d(3, 8, 3, { padding: 1, generator: gen }), new BatchNorm2d(8), new ReLU(), new MaxPool2d(2));
    const head = new Linear(8 * 8 * 8, 4, { generator: gen });
    const norm = new LayerNorm(4);
    const x = gen.normalTensor([2, 16, 16, 3]) as tf.Tensor4D;
    const labels = tf.tensor1d([1, 3], 'int32');
    const logits = (): tf.Tensor2D => norm.forward(head.forward(tf.reshape(net.forward(x), [2, -1]) as tf.Tensor2D)) as tf.Tensor2D;
    const sgd = new SGD([...net.trainableParameters().values(), ...head.trainableParameters().values()], { lr: 0.01, momentum: 0.9 });
    const boxes = tf.tensor2d([[0, 0, 8, 8], [1, 1, 9, 9], [4, 4, 15, 15]]);
    const scores = tf.tensor1d([0.9, 0.8, 0.7]);
    const idxs = tf.tensor1d([0, 0, 1], 'int32');
    const noBoxes = tf.zeros([0, 4]) as tf.Tensor2D;
    try {
      await expectSteady('Sequential.forward (train)', 50, () => net.train().forward(x));
      await expectSteady('Sequential.forward (eval)', 50, () => net.eval().forward(x));
      net.train();
      await expectSteady('backward through conv/BN/pool/linear/LayerNorm', 50, () =>
        tf.grads((input: tf.Tensor) => crossEntropy(norm.forward(head.forward(tf.reshape(net.forward(input as tf.Tensor4D), [2, -1]) as tf.Tensor2D)) as tf.Tensor2D, labels))([x]),
      );
      await expectSteady('SGD step (momentum)', 50, () => {
        const all = new Map([...net.trainableParameters(), ...[...head.trainableParameters()].map(([k, v]) => [`head.${k}`, v] as const)]);
        const { value, grads } = tf.variableGrads(() => crossEntropy(logits(), labels) as tf.Scalar, [...all.values()]);
        sgd.step(grads as Gradients);
        return [value, grads];
      });
      await expectSteady('boxIou, batchedNms, roiAlign', 50, () => [
        boxIou(boxes, boxes),
        batchedNms(boxes, scores, idxs, 0.5),
        roiAlign(x, [boxes, noBoxes], 4, 1, 2, true),
      ]);
    } finally {
      tf.dispose([x, labels, boxes, scores, idxs, noBoxes]);
      sgd.dispose();
      [net, head, norm].forEach((m) => m.dispose());
    }
  });

  it('ResNet: forward in eval and train mode, forwardFeatures, and a training step (CIFAR ResNet-8 and a [1,1,1,1] ResNet)', async () => {
    const cifar = cifarResnet(8, { generator: gen });
    const tv = new ResNet(BasicBlock, [1, 1, 1, 1], { numClasses: 5, generator: gen });
    const x = gen.normalTensor([2, 32, 32, 3]) as tf.Tensor4D;
    const labels = tf.tensor1d([1, 4], 'int32');
    const sgd = new SGD(cifar.trainableParameters(), { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
    try {
      await expectSteady('cifarResnet.forward (eval)', 50, () => cifar.eval().forward(x));
      await expectSteady('cifarResnet.forward (train, BN statistics update)', 50, () => cifar.train().forward(x));
      await expectSteady('cifarResnet training step', 10, () => optimiserStep(cifar, sgd, () => crossEntropy(cifar.forward(x), labels) as tf.Scalar));
      await expectSteady('ResNet.forward (eval)', 5, () => tv.eval().forward(x));
      await expectSteady('ResNet.forward (train)', 5, () => tv.train().forward(x));
      await expectSteady('ResNet.forwardFeatures', 5, () => tv.eval().forwardFeatures(x));
    } finally {
      tf.dispose([x, labels]);
      sgd.dispose();
      cifar.dispose();
      tv.dispose();
    }
  });

  it('FPN and RPN: BackboneWithFPN.forward, RegionProposalNetwork.forward in eval and train mode (with losses)', async () => {
    const backbone = tinyFpnBackbone(gen).eval();
    const rpn = new RegionProposalNetwork({
      anchorGenerator: new AnchorGenerator([[8], [16], [32], [64], [128]]), head: new RPNHead(16, 3, 1, { generator: gen }),
      preNmsTopN: { training: 100, testing: 100 }, postNmsTopN: { training: 20, testing: 20 }, generator: gen,
    });
    const images = { tensor: tf.expandDims(scene.image, 0) as tf.Tensor4D, imageSizes: [[48, 64]] as Array<[number, number]> };
    const features = backbone.forward(images.tensor);
    try {
      await expectSteady('BackboneWithFPN.forward', 50, () => backbone.forward(images.tensor));
      await expectSteady('RegionProposalNetwork.forward (eval)', 50, () => rpn.eval().forward(images, features));
      await expectSteady('RegionProposalNetwork.forward (train, losses)', 50, () => rpn.train().forward(images, features, [{ boxes: scene.target.boxes }]));
    } finally {
      tf.dispose([images.tensor, ...features.values()]);
      rpn.anchorGenerator.dispose();
      rpn.dispose();
      backbone.dispose();
    }
  });

  it('Faster R-CNN: predict, forwardTrain and trainStep', async () => {
    const model = tinyFasterRcnn(0);
    const sgd = new SGD(model.trainableParameters(), { lr: 0.001, momentum: 0.9 });
    try {
      await expectSteady('FasterRCNN.predict', 10, async () => (await model.predict(scene.image)).map((d) => [d.boxes, d.scores, d.labels]));
      await expectSteady('FasterRCNN.forwardTrain', 10, () => model.forwardTrain([scene.image], [scene.target]));
      await expectSteady('faster-rcnn trainStep', 5, () => trainStep(model, sgd, [scene.image], [scene.target]));
    } finally {
      sgd.dispose();
      model.dispose();
    }
  });

  it('Mask R-CNN: predict (full masks and RLE), toCocoResults, forwardTrain and trainStep', async () => {
    const model = tinyMaskRcnn(0);
    const sgd = new SGD(model.trainableParameters(), { lr: 0.001, momentum: 0.9 });
    try {
      await expectSteady('MaskRCNN.predict + toCocoResults', 10, async () => {
        const dets = await model.predict(scene.image);
        const rows = toCocoResults(dets, [1]);
        return [dets, rows];
      });
      await expectSteady('MaskRCNN.predict (rle)', 10, () => model.predict(scene.image, { maskFormat: 'rle' }));
      await expectSteady('MaskRCNN.forwardTrain', 10, () => model.forwardTrain([scene.image], [scene.target]));
      await expectSteady('mask-rcnn trainStep', 5, () => trainStep(model, sgd, [scene.image], [scene.target]));
    } finally {
      sgd.dispose();
      model.dispose();
    }
  });

  it('ViT and MAE: forward, forwardFeatures, an AdamW step, MAE forward and MaePretrainer.step', async () => {
    const vit = vitTestPatch8({ numClasses: 4, generator: gen });
    const mae = maeVitTestPatch8({ generator: new Generator(1) });
    const x = gen.normalTensor([2, 32, 32, 3]) as tf.Tensor4D;
    const labels = tf.tensor1d([0, 3], 'int32');
    const adamw = new AdamW(vit.trainableParameters(), { lr: 1e-3, weightDecay: 0.05 });
    const maeOpt = new AdamW(mae.trainableParameters(), { lr: 1e-3, betas: [0.9, 0.95] });
    const pretrainer = new MaePretrainer(mae, maeOpt, { lr: 1e-3, warmupEpochs: 1, epochs: 2, itersPerEpoch: 10 });
    try {
      await expectSteady('VisionTransformer.forward (eval)', 50, () => vit.eval().forward(x));
      await expectSteady('VisionTransformer.forwardFeatures', 50, () => vit.forwardFeatures(x));
      vit.train();
      await expectSteady('ViT AdamW training step', 20, () => optimiserStep(vit, adamw, () => crossEntropy(vit.forward(x), labels) as tf.Scalar));
      await expectSteady('MaskedAutoencoderViT.forward', 50, () => mae.forward(x, { maskRatio: 0.75 }));
      await expectSteady('MaePretrainer.step', 20, () => pretrainer.step(x));
    } finally {
      tf.dispose([x, labels]);
      pretrainer.dispose();
      adamw.dispose();
      maeOpt.dispose();
      vit.dispose();
      mae.dispose();
    }
  });

  it('data: ShapesDataset.get, the transforms (flip, resize, normalize) and a DataLoader epoch', async () => {
    const data = new ShapesDataset({ numImages: 4, imageSize: [32, 40], minShapeSize: 8, maxShapeSize: 24, seed: 0 });
    const augment = compose([randomHorizontalFlip(0.5, new Generator(2)), resize({ minSize: 24, maxSize: 40 }), normalize()]);
    await expectSteady('ShapesDataset.get + compose(flip, resize, normalize)', 50, async () => {
      const s = await data.get(1);
      const t = augment(s);
      disposeSample(s);
      return t;
    });
    const loader = new DataLoader(data, { batchSize: 2, shuffle: true, generator: new Generator(3) });
    await expectSteady('DataLoader epoch', 10, async () => {
      const batches = [];
      for await (const batch of loader) batches.push(batch);
      return batches;
    });
    expect(CocoDataset).toBeDefined(); // file-backed: covered by the pack-and-install run (README example)
  });

  it('eval: CocoEvaluator.evaluate for bbox and segm', async () => {
    const rle = (x: number, y: number, w: number, h: number): number[][] => [[x, y, x + w, y, x + w, y + h, x, y + h]];
    const gt: CocoDatasetJson = {
      images: [{ id: 1, height: 48, width: 64 }, { id: 2, height: 48, width: 64 }],
      categories: [{ id: 1, name: 'a' }, { id: 2, name: 'b' }],
      annotations: [
        { id: 1, image_id: 1, category_id: 1, bbox: [4, 6, 26, 34], area: 884, iscrowd: 0, segmentation: rle(4, 6, 26, 34) },
        { id: 2, image_id: 1, category_id: 2, bbox: [34, 10, 26, 34], area: 884, iscrowd: 0, segmentation: rle(34, 10, 26, 34) },
        { id: 3, image_id: 2, category_id: 1, bbox: [10, 10, 20, 20], area: 400, iscrowd: 0, segmentation: rle(10, 10, 20, 20) },
      ],
    };
    const evaluator = new CocoEvaluator(gt);
    const results: CocoResult[] = [
      { image_id: 1, category_id: 1, bbox: [5, 6, 25, 34], score: 0.9 },
      { image_id: 1, category_id: 2, bbox: [30, 10, 26, 30], score: 0.6 },
      { image_id: 2, category_id: 1, bbox: [12, 10, 20, 22], score: 0.8 },
      { image_id: 2, category_id: 2, bbox: [0, 0, 10, 10], score: 0.3 },
    ];
    const withSegm = results.map((r) => ({ ...r, segmentation: bboxToRle(r.bbox as number[], 48, 64) }));
    await expectSteady('CocoEvaluator.evaluate bbox', 50, () => evaluator.evaluate(results, 'bbox'));
    await expectSteady('CocoEvaluator.evaluate segm', 20, () => evaluator.evaluate(withSegm, 'segm'));
  });
});
