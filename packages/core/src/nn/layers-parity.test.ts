import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { expectAllClose, expectNoLeak, fixturePath, loadFixture, useBackend } from '@residual/test-utils';
import {
  AdaptiveAvgPool2d,
  AvgPool2d,
  BatchNorm1d,
  BatchNorm2d,
  Conv2d,
  ConvTranspose2d,
  FrozenBatchNorm2d,
  GELU,
  LayerNorm,
  Linear,
  MaxPool2d,
  conv2dLayout,
  identityLayout,
  linearLayout,
  type Layer,
  type TorchLayout,
} from '@residual/core';

// Every case of tools/fixtures/core_layers.py: torch's output and the gradients of
// sum(output · cotangent) w.r.t. the input and every parameter, on a torch-loaded state dict.
// Conv weight gradients on wasm use the Conv2DBackpropFilter/depthwise kernels that
// initBackend('wasm') registers from core's kernels/.

let tensors: Map<string, tf.Tensor>;
let metadata: Record<string, string>;

beforeAll(async () => {
  await useBackend();
  ({ tensors, metadata } = loadFixture(fixturePath(path.resolve(__dirname, '../..'), 'layers.safetensors')));
});

afterAll(() => tf.dispose([...tensors.values()]));

interface CaseMeta {
  train: boolean;
  keys: [string, number[], string][];
}

function fixture(key: string): tf.Tensor {
  const t = tensors.get(key);
  if (!t) throw new Error(`layers.safetensors has no "${key}"`);
  return t;
}

function withPrefix(prefix: string): Map<string, tf.Tensor> {
  return new Map([...tensors].filter(([k]) => k.startsWith(prefix)).map(([k, t]) => [k.slice(prefix.length), t]));
}

// Torch layout ↔ residual layout of inputs/outputs: NCHW ↔ NHWC, [N,C,L] ↔ [N,L,C].
function fromTorch(t: tf.Tensor, channelsFirst: boolean): tf.Tensor {
  if (!channelsFirst || t.rank < 3) return t.clone();
  return t.rank === 4 ? tf.transpose(t, [0, 2, 3, 1]) : tf.transpose(t, [0, 2, 1]);
}

function toTorch(t: tf.Tensor, channelsFirst: boolean): tf.Tensor {
  if (!channelsFirst || t.rank < 3) return t.clone();
  return t.rank === 4 ? tf.transpose(t, [0, 3, 1, 2]) : tf.transpose(t, [0, 2, 1]);
}

function parameterLayout(layer: Layer, name: string): TorchLayout {
  if (name !== 'weight') return identityLayout;
  if (layer instanceof Conv2d || layer instanceof ConvTranspose2d) return conv2dLayout;
  return layer instanceof Linear ? linearLayout : identityLayout;
}

function torchDtype(t: tf.Tensor): string {
  return t.dtype === 'int32' ? 'int64' : t.dtype;
}

/** Loads the case's torch state dict, runs forward + gradients, compares everything. */
async function checkCase(name: string, make: () => Layer, channelsFirst = true): Promise<void> {
  const meta = JSON.parse(metadata[name]) as CaseMeta;
  const layer = make();
  try {
    const fresh = layer.stateDict();
    expect([...fresh].map(([k, t]) => [k, t.shape, torchDtype(t)])).toEqual(meta.keys);
    tf.dispose([...fresh.values()]);
    layer.loadStateDict(withPrefix(`${name}/sd/`));
    layer.train(meta.train);
    const params = [...layer.trainableParameters()];
    await expectNoLeak(() => {
      const x0 = fromTorch(fixture(`${name}/input`), channelsFirst);
      const x = tf.variable(x0); // shares x0's data; both disposed with the results
      const cot = fromTorch(fixture(`${name}/cot`), channelsFirst);
      let out: tf.Tensor | null = null;
      const { value, grads } = tf.variableGrads(() => {
        out = tf.keep(layer.forward(x)); // disposed below with the other results
        return tf.sum(tf.mul(out, cot)) as tf.Scalar;
      }, [x, ...params.map(([, v]) => v)]);
      const results: tf.Tensor[] = [x0, x, cot, value, out as unknown as tf.Tensor, ...Object.values(grads)];
      const check = (actual: tf.Tensor, key: string, atol = 1e-6): void => {
        results.push(actual);
        try {
          expectAllClose(actual, fixture(`${name}/${key}`), { rtol: 1e-5, atol });
        } catch (e) {
          throw new Error(`${name}/${key}: ${(e as Error).message}`);
        }
      };
      check(toTorch(out as unknown as tf.Tensor, channelsFirst), 'output');
      check(toTorch(grads[x.name], channelsFirst), 'grad/input');
      // Parameter gradients sum N·H·W products of O(1) values: the summation order alone moves
      // them by ~1e-6 absolute, so entries that cancel to ~1e-3 need atol 1e-5.
      for (const [key, v] of params) check(parameterLayout(layer, key).toTorch(grads[v.name]), `grad/${key}`, 1e-5);
      return results;
    });
    if (meta.train) {
      const after = layer.stateDict();
      for (const [k, t] of after) expectAllClose(t, fixture(`${name}/after/${k}`));
      tf.dispose([...after.values()]);
    }
  } finally {
    layer.dispose();
  }
}

describe('Conv2d matches torch.nn.Conv2d (output, input and parameter gradients)', () => {
  it.each([
    ['conv_s2_p1', () => new Conv2d(4, 6, 3, { stride: 2, padding: 1 })],
    ['conv_dil2', () => new Conv2d(4, 5, 3, { padding: 2, dilation: 2 })],
    ['conv_dil2_s2', () => new Conv2d(3, 4, 3, { stride: 2, padding: 2, dilation: 2, bias: false })],
    ['conv_g2', () => new Conv2d(4, 6, 3, { padding: 1, groups: 2, bias: false })],
    ['conv_depthwise', () => new Conv2d(4, 8, 3, { padding: 1, groups: 4 })],
    ['conv_1x1_s2', () => new Conv2d(4, 8, 1, { stride: 2, bias: false })],
    ['conv_7x7_s2_p3', () => new Conv2d(3, 4, 7, { stride: 2, padding: 3, bias: false })],
    ['conv_rect', () => new Conv2d(2, 3, [3, 1], { stride: [1, 2], padding: [1, 0] })],
  ] as [string, () => Layer][])('%s', (name, make) => checkCase(name, make));
});

describe('ConvTranspose2d matches torch.nn.ConvTranspose2d', () => {
  it.each([
    ['convt_k2_s2', () => new ConvTranspose2d(4, 3, 2, { stride: 2 })],
    ['convt_k3_s2_p1_op1', () => new ConvTranspose2d(4, 6, 3, { stride: 2, padding: 1, outputPadding: 1 })],
    ['convt_g2_dil2', () => new ConvTranspose2d(4, 6, 3, { padding: 1, dilation: 2, groups: 2, bias: false })],
    ['convt_op_gt_p', () => new ConvTranspose2d(2, 3, 3, { stride: 3, outputPadding: 2 })],
  ] as [string, () => Layer][])('%s', (name, make) => checkCase(name, make));
});

describe('Linear matches torch.nn.Linear', () => {
  it('on a 3-D input', () => checkCase('linear_3d', () => new Linear(5, 7), false));
});

describe('BatchNorm matches torch (train step updates running stats and num_batches_tracked)', () => {
  it.each([
    ['bn2d_train', () => new BatchNorm2d(4)],
    ['bn2d_train_cma', () => new BatchNorm2d(4, { momentum: null })],
    ['bn2d_eval', () => new BatchNorm2d(4)],
    ['bn1d_noaffine', () => new BatchNorm1d(6, { affine: false })],
    ['bn1d_2d', () => new BatchNorm1d(6, { eps: 1e-3, momentum: 0.3 })],
  ] as [string, () => Layer][])('%s', (name, make) => checkCase(name, make));

  it.each([
    ['frozen_bn', () => new FrozenBatchNorm2d(4)],
    ['frozen_bn_eps0', () => new FrozenBatchNorm2d(4, { eps: 0 })],
  ] as [string, () => Layer][])('FrozenBatchNorm2d %s', (name, make) => checkCase(name, make));
});

describe('LayerNorm and GELU match torch', () => {
  it('LayerNorm(8, eps 1e-6)', () => checkCase('layernorm', () => new LayerNorm(8, { eps: 1e-6 }), false));
  it('GELU exact (erf)', () => checkCase('gelu', () => new GELU(), false));
  it('GELU tanh approximation', () => checkCase('gelu_tanh', () => new GELU({ approximate: 'tanh' }), false));
});

describe('pooling matches torch', () => {
  it.each([
    ['maxpool_k3_s2_p1', () => new MaxPool2d(3, { stride: 2, padding: 1 })],
    ['maxpool_ceil', () => new MaxPool2d(3, { stride: 2, ceilMode: true })],
    ['maxpool_ceil_p1', () => new MaxPool2d(2, { stride: 2, padding: 1, ceilMode: true })],
    ['maxpool_dil2', () => new MaxPool2d(3, { stride: 2, padding: 1, dilation: 2 })],
    ['avgpool_k3_s2_p1', () => new AvgPool2d(3, { stride: 2, padding: 1 })],
    ['avgpool_exclude_pad', () => new AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false })],
    ['adaptive_1x1', () => new AdaptiveAvgPool2d(1)],
    ['adaptive_3x3', () => new AdaptiveAvgPool2d(3)],
  ] as [string, () => Layer][])('%s', (name, make) => checkCase(name, make));
});
