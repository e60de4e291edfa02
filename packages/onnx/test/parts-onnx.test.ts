import * as tf from '@tensorflow/tfjs-core';
import {
  AvgPool2d,
  BatchNorm2d,
  Conv2d,
  GELU,
  Generator,
  LayerNorm,
  Linear,
  Module,
  ReLU,
  Sequential,
  ValueError,
} from '@residual/core';
import { FastRCNNPredictor, TwoMLPHead } from '@residual/faster-rcnn';
import { LastLevelP6P7, resnetFpnBackbone } from '@residual/fpn';
import { MaskRCNNHeads, MaskRCNNPredictor } from '@residual/mask-rcnn';
import { RPNHead } from '@residual/rpn';
import { VisionTransformer } from '@residual/vit';
import { maxAbsDiff, useBackend } from '@residual/test-utils';
import { OnnxSession, decodeModel, toOnnx, type ToOnnxOptions } from '../src/index.js';

// Each exportable part against its own tfjs forward (which has its torchvision/timm parity tests):
// random weights, random inputs, onnxruntime on the exported graph. fp32 sums in another order:
// errors are measured relative to the largest reference value, budget 1e-5 (parity-spec §12).
function relErr(actual: tf.Tensor, expected: tf.Tensor): number {
  const scale = tf.tidy(() => tf.max(tf.abs(expected)).dataSync()[0]);
  return maxAbsDiff(actual, expected) / scale;
}

async function runOnnx(module: Module | Module[], options: ToOnnxOptions, inputs: Record<string, tf.Tensor>): Promise<Map<string, tf.Tensor>> {
  const session = await OnnxSession.create(toOnnx(module, options), { intraOpNumThreads: 1 });
  try {
    return await session.run(inputs);
  } finally {
    await session.release();
  }
}

const gen = new Generator(7);

beforeAll(async () => {
  await useBackend();
});

describe('toOnnx of detection parts (NHWC layout) against their tfjs forward', () => {
  it('BackboneWithFPN with LastLevelP6P7 on a 70×90 image (odd sizes: n → 2n−1 nearest upsampling)', async () => {
    const backbone = resnetFpnBackbone('resnet18', { extraBlocks: new LastLevelP6P7(256, 256, { generator: gen }), generator: gen }).eval();
    const x = tf.randomUniform([1, 70, 90, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
    const want = backbone.forward(x);
    const got = await runOnnx(backbone, { inputShape: [1, 3, 64, 64], dynamicSpatial: true, layout: 'nhwc' }, { input: x });
    try {
      expect([...got.keys()]).toEqual(['0', '1', '2', '3', 'p6', 'p7']);
      for (const [k, v] of want) {
        expect([k, got.get(k)?.shape]).toEqual([k, v.shape]);
        expect(relErr(got.get(k) as tf.Tensor, v)).toBeLessThan(1e-5);
      }
    } finally {
      tf.dispose([x, ...want.values(), ...got.values()]);
      backbone.dispose();
    }
  }, 60000);

  it('RPNHead on three levels with shared weights (each conv stored once)', async () => {
    const head = new RPNHead(16, 3, 1, { generator: gen });
    const shapes: Array<[number, number, number, number]> = [[1, 8, 10, 16], [1, 4, 5, 16], [1, 2, 3, 16]];
    const levels = shapes.map((s, i) => tf.randomNormal(s, 0, 1, 'float32', i) as tf.Tensor4D);
    const want = head.forward(levels);
    const bytes = toOnnx(head, { inputShape: [1, 16, 1, 1], layout: 'nhwc', levels: ['a', 'b', 'c'] });
    expect(decodeModel(bytes).graph.initializer).toHaveLength(6); // conv, cls_logits, bbox_pred: weight + bias
    const got = await runOnnx(head, { inputShape: [1, 16, 1, 1], layout: 'nhwc', levels: ['a', 'b', 'c'] }, { a: levels[0], b: levels[1], c: levels[2] });
    try {
      ['a', 'b', 'c'].forEach((l, i) => {
        expect(relErr(got.get(`logits.${l}`) as tf.Tensor, want.logits[i])).toBeLessThan(1e-5);
        expect(relErr(got.get(`bbox_reg.${l}`) as tf.Tensor, want.bboxReg[i])).toBeLessThan(1e-5);
      });
    } finally {
      tf.dispose([...levels, ...want.logits, ...want.bboxReg, ...got.values()]);
      head.dispose();
    }
  }, 60000);

  it('TwoMLPHead + FastRCNNPredictor as one graph (flattened in torch C,H,W order)', async () => {
    const head = new TwoMLPHead(8 * 7 * 7, 32, { generator: gen });
    const predictor = new FastRCNNPredictor(32, 3, { generator: gen });
    const x = tf.randomNormal([5, 7, 7, 8], 0, 1, 'float32', 3) as tf.Tensor4D;
    const features = head.forward(x);
    const want = predictor.forward(features);
    features.dispose();
    const got = await runOnnx([head, predictor], { inputShape: [1, 8, 7, 7], dynamicBatch: true, layout: 'nhwc' }, { input: x });
    try {
      expect(relErr(got.get('class_logits') as tf.Tensor, want.classLogits)).toBeLessThan(1e-5);
      expect(relErr(got.get('box_regression') as tf.Tensor, want.boxRegression)).toBeLessThan(1e-5);
    } finally {
      tf.dispose([x, want.classLogits, want.boxRegression, ...got.values()]);
      head.dispose();
      predictor.dispose();
    }
  }, 60000);

  it('MaskRCNNHeads + MaskRCNNPredictor as one graph (ConvTranspose 2×2/2)', async () => {
    const head = new MaskRCNNHeads(8, [8, 8], 1, { generator: gen });
    const predictor = new MaskRCNNPredictor(8, 8, 3, { generator: gen });
    const x = tf.randomNormal([4, 14, 14, 8], 0, 1, 'float32', 4) as tf.Tensor4D;
    const want = tf.tidy(() => predictor.forward(head.forward(x)));
    const got = await runOnnx([head, predictor], { inputShape: [1, 8, 14, 14], dynamicBatch: true, layout: 'nhwc' }, { input: x });
    try {
      expect(got.get('mask_logits')?.shape).toEqual([4, 28, 28, 3]);
      expect(relErr(got.get('mask_logits') as tf.Tensor, want)).toBeLessThan(1e-5);
    } finally {
      tf.dispose([x, want, ...got.values()]);
      head.dispose();
      predictor.dispose();
    }
  }, 60000);
});

describe('toOnnx of other models and layers', () => {
  it.each([false, true])('VisionTransformer (globalPool %s): attention, LayerNorm, GELU, class token', async (globalPool) => {
    const vit = new VisionTransformer({ imgSize: 32, patchSize: 8, embedDim: 32, depth: 2, numHeads: 4, numClasses: 5, qkvBias: true, normEps: 1e-6, globalPool, generator: gen }).eval();
    const x = tf.randomUniform([2, 32, 32, 3], -1, 1, 'float32', 5) as tf.Tensor4D;
    const want = vit.forward(x);
    const got = await runOnnx(vit, { inputShape: [2, 3, 32, 32], dynamicBatch: true, layout: 'nhwc' }, { input: x });
    try {
      expect(got.get('logits')?.shape).toEqual([2, 5]);
      expect(relErr(got.get('logits') as tf.Tensor, want)).toBeLessThan(1e-5);
    } finally {
      tf.dispose([x, want, ...got.values()]);
      vit.dispose();
    }
  }, 60000);

  it('a Sequential of core layers in NCHW: BatchNorm after ReLU stays a Mul/Add, tanh GELU, AvgPool, LayerNorm and Linear on channels', async () => {
    const bn = new BatchNorm2d(4);
    bn.initParameter('running_mean', (s) => tf.randomNormal(s, 0, 1, 'float32', 8));
    bn.initParameter('running_var', (s) => tf.randomUniform(s, 0.5, 2, 'float32', 9));
    const net = new Sequential(
      new Conv2d(3, 4, 3, { padding: 1, generator: gen }),
      new ReLU(),
      bn,
      new GELU({ approximate: 'tanh' }),
      new AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false }),
      new LayerNorm(4),
      new Linear(4, 2, { generator: gen }),
    ).eval();
    const x = tf.randomNormal([2, 10, 10, 3], 0, 1, 'float32', 6) as tf.Tensor4D;
    const want = net.forward(x); // NHWC: LayerNorm and Linear act on the channels
    const bytes = toOnnx(net, { inputShape: [2, 3, 10, 10] });
    expect(decodeModel(bytes).graph.node.map((n) => n.op_type)).toContain('Tanh');
    const [xNchw, wantNchw] = [tf.transpose(x, [0, 3, 1, 2]), tf.transpose(want, [0, 3, 1, 2])];
    const got = await runOnnx(net, { inputShape: [2, 3, 10, 10] }, { input: xNchw });
    try {
      expect(got.get('output')?.shape).toEqual([2, 2, 5, 5]);
      expect(relErr(got.get('output') as tf.Tensor, wantNchw)).toBeLessThan(1e-5);
    } finally {
      tf.dispose([x, xNchw, want, wantNchw, ...got.values()]);
      net.dispose();
    }
  }, 60000);

  it('names what it cannot export', () => {
    class Custom extends Module {}
    expect(() => toOnnx(new Sequential(new Custom() as unknown as ReLU), { inputShape: [1, 3, 8, 8] })).toThrow(
      new ValueError('toOnnx: no ONNX export for Custom ("layer.0")'),
    );
    expect(() => toOnnx(new ReLU(), { inputShape: [1, 3, 8] })).toThrow(
      new ValueError('toOnnx: inputShape must be [N,C,H,W] or [R,F] of positive integers, got [1,3,8]'),
    );
    expect(() => toOnnx([], { inputShape: [1, 3, 8, 8] })).toThrow(new ValueError('toOnnx: the module chain is empty'));
  });
});
