import * as tf from '@tensorflow/tfjs-core';
import {
  Adam, AdamW, AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d, BoxCoder, Conv2d, ConvTranspose2d, DropPath, Dropout, Flatten,
  FrozenBatchNorm2d, GELU, Generator, LRScheduler, LayerNorm, Linear, MaxPool2d, ModuleList, ReLU, SGD, Sequential,
  batchedNms, bboxToRle, binaryCrossEntropyWithLogits, boxArea, boxConvert, boxIou, clipBoxesToImage, clipGradNorm,
  crossEntropy, fuseForInference, l1Loss, maskToRle, mseLoss, nms, readSafetensors, removeSmallBoxes, rleToMask,
  roiAlign, smoothL1Loss, softNms, stepLR, subsample, writeSafetensors, type Gradients, type Module,
} from '@residual/core';
import {
  ShapesDataset, DataLoader, compose, disposeSample, horizontalFlip, normalize, randomHorizontalFlip, resize, toTensor,
} from '@residual/data';
import { CocoEvaluator, type CocoDatasetJson, type CocoResult } from '@residual/eval';
import { LastLevelP6P7, resnetFpnBackbone, upsampleNearest } from '@residual/fpn';
import { trainStep } from '@residual/faster-rcnn';
import { toCocoResults } from '@residual/mask-rcnn';
import { MaePretrainer, maeVitTestPatch8, patchify, randomMasking, unpatchify } from '@residual/mae';
import { BasicBlock, Bottleneck, ResNet, cifarResnet } from '@residual/resnet';
import { AnchorGenerator, RPNHead, RegionProposalNetwork } from '@residual/rpn';
import { useBackend } from '@residual/test-utils';
import { interpolatePosEmbed, vitTestPatch8 } from '@residual/vit';
import { expectSteady } from './expect-steady.js';
import { disposeScene, tinyFasterRcnn, tinyFpnBackbone, tinyMaskRcnn, tinyScene, type Scene } from './tiny-models.js';

// Issue 10's leak suite: every public model call and training step, repeated 50 times after one
// warm-up call, leaves tf.memory()'s tensor count and bytes exactly where they were. Each `it`
// names the calls it covers; a failure names the call. Configurations are tiny (8–40 pixel images,
// narrow layers, few proposals) so that 50 calls of everything stay within a couple of minutes.
// Files, fine-tuning and the CLI's helpers: leak-suite-files-and-finetuning.test.ts; onnx: leak-suite-onnx.test.ts.

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
    const net = new Sequential(new Conv2d(3, 4, 3, { padding: 1, generator: gen }), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2));
    const head = new Linear(4 * 4 * 4, 4, { generator: gen });
    const norm = new LayerNorm(4);
    const x = gen.normalTensor([2, 8, 8, 3]) as tf.Tensor4D;
    const labels = tf.tensor1d([1, 3], 'int32');
    const logits = (): tf.Tensor2D => norm.forward(head.forward(tf.reshape(net.forward(x), [2, -1]) as tf.Tensor2D)) as tf.Tensor2D;
    const sgd = new SGD([...net.trainableParameters().values(), ...head.trainableParameters().values()], { lr: 0.01, momentum: 0.9 });
    const boxes = tf.tensor2d([[0, 0, 4, 4], [1, 1, 5, 5], [2, 2, 7, 7]]);
    const scores = tf.tensor1d([0.9, 0.8, 0.7]);
    const idxs = tf.tensor1d([0, 0, 1], 'int32');
    const noBoxes = tf.zeros([0, 4]) as tf.Tensor2D;
    try {
      await expectSteady('Sequential.forward (train)', () => net.train().forward(x));
      await expectSteady('Sequential.forward (eval)', () => net.eval().forward(x));
      net.train();
      await expectSteady('backward through conv/BN/pool/linear/LayerNorm', () =>
        tf.grads((input: tf.Tensor) => crossEntropy(norm.forward(head.forward(tf.reshape(net.forward(input as tf.Tensor4D), [2, -1]) as tf.Tensor2D)) as tf.Tensor2D, labels))([x]),
      );
      await expectSteady('SGD step (momentum)', () => {
        const all = new Map([...net.trainableParameters(), ...[...head.trainableParameters()].map(([k, v]) => [`head.${k}`, v] as const)]);
        const { value, grads } = tf.variableGrads(() => crossEntropy(logits(), labels) as tf.Scalar, [...all.values()]);
        sgd.step(grads as Gradients);
        return [value, grads];
      });
      await expectSteady('boxIou, batchedNms, roiAlign', () => [
        boxIou(boxes, boxes),
        batchedNms(boxes, scores, idxs, 0.5),
        roiAlign(x, [boxes, noBoxes], 2, 1, 2, true),
      ]);
    } finally {
      tf.dispose([x, labels, boxes, scores, idxs, noBoxes]);
      sgd.dispose();
      [net, head, norm].forEach((m) => m.dispose());
    }
  });

  it('core, the other layers, ops, losses and optimisers: transposed conv, frozen BN, GELU, dropout, pools, state dicts, safetensors, fusion, box coding, soft-NMS, masks, Adam, clipping, schedules', async () => {
    const x = gen.normalTensor([2, 8, 8, 4]) as tf.Tensor4D;
    const deconv = new ConvTranspose2d(4, 2, 2, { stride: 2, generator: gen });
    const layers = new ModuleList<Module & { forward(x: tf.Tensor4D): tf.Tensor }>([
      new FrozenBatchNorm2d(4), new GELU(), new GELU({ approximate: 'tanh' }), new Dropout(0.5, { generator: gen }),
      new DropPath(0.5, { generator: gen }), new AvgPool2d(2), new AdaptiveAvgPool2d(1), new Flatten(),
    ]);
    const fused = new Sequential(new Conv2d(4, 4, 3, { padding: 1, bias: false, generator: gen }), new BatchNorm2d(4), new ReLU()).eval();
    const fusion = fuseForInference(fused);
    // The first fused call runs unfused to see the ReLU, the second makes the folded weights (kept until unfuse).
    tf.dispose([fused.forward(x), fused.forward(x)]);
    const boxes = tf.tensor2d([[0, 0, 4, 4], [1, 1, 5, 5], [2, 2, 9, 9], [3, 3, 3.5, 3.5]]);
    const scores = tf.tensor1d([0.9, 0.8, 0.7, 0.6]);
    const coder = new BoxCoder([10, 10, 5, 5]);
    const mask = tf.tensor2d([[0, 1, 1], [0, 1, 0]], [2, 3], 'int32');
    const target = gen.normalTensor([2, 4]);
    const logits = gen.normalTensor([2, 4]);
    const probs = tf.sigmoid(target);
    const w = tf.variable(gen.normalTensor([4, 4]));
    const adam = new Adam([w], { lr: 1e-3, weightDecay: 1e-2, amsgrad: true });
    const scheduler = new LRScheduler(adam, (s, baseLr) => stepLR(s, { baseLr, stepSize: 5, gamma: 0.5 }));
    try {
      await expectSteady('ConvTranspose2d.forward', () => deconv.forward(x));
      await expectSteady('FrozenBatchNorm2d, GELU (erf, tanh), Dropout, DropPath, AvgPool2d, AdaptiveAvgPool2d, Flatten (train)', () =>
        [...layers].map((m) => m.train().forward(x)),
      );
      await expectSteady('the same layers (eval)', () => [...layers].map((m) => m.eval().forward(x)));
      await expectSteady('fuseForInference: a fused conv/BN/ReLU forward', () => fused.forward(x));
      await expectSteady('fuseForInference after loadStateDict (the folded weights are made again)', () => {
        const dict = fused.stateDict();
        fused.loadStateDict(dict);
        return [dict, fused.forward(x)];
      });
      await expectSteady('Module.stateDict + loadStateDict', () => {
        const dict = deconv.stateDict();
        deconv.loadStateDict(dict);
        return dict;
      });
      await expectSteady('writeSafetensors + readSafetensors', () => readSafetensors(writeSafetensors({ x, mask })).tensors);
      await expectSteady('boxArea, clipBoxesToImage, removeSmallBoxes, boxConvert, nms, softNms, BoxCoder, subsample', () => [
        boxArea(boxes), clipBoxesToImage(boxes, [6, 6]), removeSmallBoxes(boxes, 1), boxConvert(boxes, 'xyxy', 'cxcywh'),
        nms(boxes, scores, 0.5), softNms(boxes, scores, { method: 'gaussian' }),
        tf.tidy(() => coder.decode(coder.encode(boxes, tf.add(boxes, 0.5) as tf.Tensor2D), boxes)), subsample(x, 2),
      ]);
      await expectSteady('maskToRle, rleToMask, bboxToRle', () => [rleToMask(maskToRle(mask)), bboxToRle([1, 1, 2, 2], 6, 6)]);
      await expectSteady('binaryCrossEntropyWithLogits, smoothL1Loss, l1Loss, mseLoss', () => [
        binaryCrossEntropyWithLogits(logits, probs), smoothL1Loss(logits, target, { beta: 1 / 9 }),
        l1Loss(logits, target), mseLoss(logits, target, { reduction: 'none' }),
      ]);
      await expectSteady('Adam step (amsgrad) after clipGradNorm, LRScheduler.step', () => {
        const { value, grads } = tf.variableGrads(() => mseLoss(tf.matMul(logits, w), target), [w]);
        const { grads: clipped } = clipGradNorm(grads, 0.1);
        adam.step(clipped);
        scheduler.step();
        return [value, grads, clipped];
      });
    } finally {
      fusion.unfuse();
      tf.dispose([x, boxes, scores, mask, target, logits, probs, w]);
      adam.dispose();
      [deconv, layers, fused].forEach((m) => m.dispose());
    }
  });

  it('ResNet: forward in eval and train mode, forwardFeatures and a training step (CIFAR ResNet-8, [1,1,1,1] ResNets of BasicBlock and Bottleneck)', async () => {
    const cifar = cifarResnet(8, { generator: gen });
    const basic = new ResNet(BasicBlock, [1, 1, 1, 1], { numClasses: 5, generator: gen });
    const bottleneck = new ResNet(Bottleneck, [1, 1, 1, 1], { numClasses: 5, widthPerGroup: 16, zeroInitResidual: true, generator: gen });
    const small = gen.normalTensor([2, 8, 8, 3]) as tf.Tensor4D;
    const x = gen.normalTensor([2, 16, 16, 3]) as tf.Tensor4D;
    const labels = tf.tensor1d([1, 4], 'int32');
    const sgd = new SGD(cifar.trainableParameters(), { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
    try {
      await expectSteady('cifarResnet.forward (eval)', () => cifar.eval().forward(small));
      await expectSteady('cifarResnet.forward (train, BN statistics update)', () => cifar.train().forward(small));
      await expectSteady('cifarResnet training step', () => optimiserStep(cifar, sgd, () => crossEntropy(cifar.forward(small), labels) as tf.Scalar));
      for (const [name, net] of [['BasicBlock', basic], ['Bottleneck', bottleneck]] as const) {
        await expectSteady(`ResNet(${name}).forward (eval)`, () => net.eval().forward(x));
        await expectSteady(`ResNet(${name}).forward (train)`, () => net.train().forward(x));
        await expectSteady(`ResNet(${name}).forwardFeatures`, () => net.eval().forwardFeatures(x));
      }
    } finally {
      tf.dispose([small, x, labels]);
      sgd.dispose();
      [cifar, basic, bottleneck].forEach((m) => m.dispose());
    }
  });

  it('FPN and RPN: BackboneWithFPN.forward (tiny body; ResNet-18 with FrozenBatchNorm2d and LastLevelP6P7), upsampleNearest, RegionProposalNetwork.forward in eval and train mode (with losses)', async () => {
    const backbone = tinyFpnBackbone(gen).eval();
    const resnetFpn = resnetFpnBackbone('resnet18', { outChannels: 8, extraBlocks: new LastLevelP6P7(8, 8, { generator: gen }), generator: gen }).eval();
    const rpn = new RegionProposalNetwork({
      anchorGenerator: new AnchorGenerator([[4], [8], [16], [32], [64]]), head: new RPNHead(16, 3, 1, { generator: gen }),
      preNmsTopN: { training: 40, testing: 40 }, postNmsTopN: { training: 8, testing: 8 }, generator: gen,
    });
    const [h, w] = scene.image.shape;
    const images = { tensor: tf.expandDims(scene.image, 0) as tf.Tensor4D, imageSizes: [[h, w]] as Array<[number, number]> };
    const features = backbone.forward(images.tensor);
    try {
      await expectSteady('BackboneWithFPN.forward', () => backbone.forward(images.tensor));
      await expectSteady('resnetFpnBackbone(resnet18, LastLevelP6P7).forward', () => resnetFpn.forward(images.tensor));
      await expectSteady('upsampleNearest', () => upsampleNearest(images.tensor, [2 * h - 1, 2 * w - 1]));
      await expectSteady('RegionProposalNetwork.forward (eval)', () => rpn.eval().forward(images, features));
      await expectSteady('RegionProposalNetwork.forward (train, losses)', () => rpn.train().forward(images, features, [{ boxes: scene.target.boxes }]));
    } finally {
      tf.dispose([images.tensor, ...features.values()]);
      [rpn, backbone, resnetFpn].forEach((m) => m.dispose());
    }
  });

  it('Faster R-CNN: predict, forward (eval and train), forwardTrain and trainStep', async () => {
    const model = tinyFasterRcnn(0);
    const sgd = new SGD(model.trainableParameters(), { lr: 0.001, momentum: 0.9 });
    try {
      await expectSteady('FasterRCNN.predict', async () => (await model.predict(scene.image)).map((d) => [d.boxes, d.scores, d.labels]));
      await expectSteady('FasterRCNN.forward (eval)', () => model.eval().forward([scene.image]));
      await expectSteady('FasterRCNN.forward (train)', () => model.train().forward([scene.image], [scene.target]));
      await expectSteady('FasterRCNN.forwardTrain', () => model.forwardTrain([scene.image], [scene.target]));
      await expectSteady('faster-rcnn trainStep', () => trainStep(model, sgd, [scene.image], [scene.target]));
    } finally {
      sgd.dispose();
      model.dispose();
    }
  });

  it('Mask R-CNN: predict (full masks and RLE), toCocoResults, forward (eval and train), forwardTrain and trainStep', async () => {
    const model = tinyMaskRcnn(0);
    const sgd = new SGD(model.trainableParameters(), { lr: 0.001, momentum: 0.9 });
    try {
      await expectSteady('MaskRCNN.predict + toCocoResults', async () => {
        const dets = await model.predict(scene.image);
        const rows = toCocoResults(dets, [1]);
        return [dets, rows];
      });
      await expectSteady('MaskRCNN.predict (rle)', () => model.predict(scene.image, { maskFormat: 'rle' }));
      await expectSteady('MaskRCNN.forward (eval)', () => model.eval().forward([scene.image]));
      await expectSteady('MaskRCNN.forward (train)', () => model.train().forward([scene.image], [scene.target]));
      await expectSteady('MaskRCNN.forwardTrain', () => model.forwardTrain([scene.image], [scene.target]));
      await expectSteady('mask-rcnn trainStep', () => trainStep(model, sgd, [scene.image], [scene.target]));
    } finally {
      sgd.dispose();
      model.dispose();
    }
  });

  it('ViT and MAE: forward, forwardFeatures, interpolatePosEmbed, an AdamW step, patchify/unpatchify, randomMasking, MAE forward and MaePretrainer.step', async () => {
    const vit = vitTestPatch8({ imgSize: 16, numClasses: 4, generator: gen });
    const mae = maeVitTestPatch8({ imgSize: 16, generator: new Generator(1) });
    const x = gen.normalTensor([2, 16, 16, 3]) as tf.Tensor4D;
    const labels = tf.tensor1d([0, 3], 'int32');
    const adamw = new AdamW(vit.trainableParameters(), { lr: 1e-3, weightDecay: 0.05 });
    const maeOpt = new AdamW(mae.trainableParameters(), { lr: 1e-3, betas: [0.9, 0.95] });
    const pretrainer = new MaePretrainer(mae, maeOpt, { lr: 1e-3, warmupEpochs: 1, epochs: 2, itersPerEpoch: 10 });
    try {
      await expectSteady('VisionTransformer.forward (eval)', () => vit.eval().forward(x));
      await expectSteady('VisionTransformer.forwardFeatures', () => vit.forwardFeatures(x));
      await expectSteady('interpolatePosEmbed', () => interpolatePosEmbed(vit.posEmbed, 16));
      vit.train();
      await expectSteady('ViT AdamW training step', () => optimiserStep(vit, adamw, () => crossEntropy(vit.forward(x), labels) as tf.Scalar));
      await expectSteady('patchify + unpatchify', () => {
        const tokens = patchify(x, 8);
        const images = unpatchify(tokens, 8);
        tokens.dispose();
        return images;
      });
      await expectSteady('randomMasking', () => {
        const tokens = patchify(x, 8);
        const out = randomMasking(tokens, 0.5, undefined, gen);
        tokens.dispose();
        return out;
      });
      await expectSteady('MaskedAutoencoderViT.forward', () => mae.forward(x, { maskRatio: 0.75 }));
      await expectSteady('MaePretrainer.step', () => pretrainer.step(x));
    } finally {
      tf.dispose([x, labels]);
      pretrainer.dispose();
      [adamw, maeOpt].forEach((o) => o.dispose());
      [vit, mae].forEach((m) => m.dispose());
    }
  });

  it('data: ShapesDataset.get, toTensor, the transforms (flip, resize, normalize), a DataLoader epoch and one left early', async () => {
    const data = new ShapesDataset({ numImages: 4, imageSize: [24, 32], minShapeSize: 8, maxShapeSize: 16, seed: 0 });
    const augment = compose([randomHorizontalFlip(0.5, new Generator(2)), resize({ minSize: 16, maxSize: 24 }), normalize()]);
    await expectSteady('ShapesDataset.get + compose(flip, resize, normalize)', async () => {
      const s = await data.get(1);
      const t = augment(s);
      disposeSample(s);
      return t;
    });
    await expectSteady('horizontalFlip', async () => {
      const s = await data.get(2);
      const t = horizontalFlip(s);
      disposeSample(s);
      return t;
    });
    await expectSteady('toTensor', () => toTensor(new Uint8Array(4 * 5 * 3).fill(7), 4, 5));
    const loader = new DataLoader(data, { batchSize: 2, shuffle: true, generator: new Generator(3) });
    await expectSteady('DataLoader epoch', async () => {
      const batches = [];
      for await (const batch of loader) batches.push(batch);
      return batches;
    });
    const prefetching = new DataLoader(data, { batchSize: 1, prefetch: 2 });
    await expectSteady('DataLoader left after its first batch (prefetched batches freed)', async () => {
      for await (const batch of prefetching) return batch;
      return null;
    });
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
    await expectSteady('CocoEvaluator.evaluate bbox', () => evaluator.evaluate(results, 'bbox'));
    await expectSteady('CocoEvaluator.evaluate segm', () => evaluator.evaluate(withSegm, 'segm'));
  });
});
