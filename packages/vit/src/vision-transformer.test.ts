import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Generator, ShapeError } from '@residual/core';
import { expectAllClose, expectNoLeak, fixturePath, loadFixture, useBackend } from '@residual/test-utils';
import { get2dSincosPosEmbed } from './sincos-pos-embed.js';
import { vitTestPatch8 } from './vit-builders.js';
import type { VisionTransformer } from './vision-transformer.js';

// Fixture: tools/fixtures/vit.py (official MAE models_vit.py on timm 0.3.2), img 32, patch 8,
// D 32, depth 2, 4 heads, 5 classes, eps 1e-6, batch 2, with global_pool off (gp0) and on (gp1).
const fixture = () => loadFixture(fixturePath(path.join(__dirname, '..'), 'vit_tiny.safetensors')).tensors;

function stateDictOf(tensors: Map<string, tf.Tensor>, prefix: string): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  for (const [k, v] of tensors) if (k.startsWith(prefix)) out.set(k.slice(prefix.length), v);
  return out;
}

describe('VisionTransformer', () => {
  let tensors: Map<string, tf.Tensor>;

  beforeAll(async () => {
    await useBackend();
    tensors = fixture();
  });

  afterAll(() => {
    for (const t of tensors.values()) t.dispose();
  });

  describe.each([
    ['cls token + norm', 0, false],
    ['global pool + fc_norm', 1, true],
  ])('with %s (gp%i)', (_name, gp, globalPool) => {
    let model: VisionTransformer;

    beforeAll(() => {
      model = vitTestPatch8({ numClasses: 5, globalPool, generator: new Generator(1) });
      model.loadStateDict(stateDictOf(tensors, `gp${gp}.sd.`));
      model.eval();
    });

    afterAll(() => model.dispose());

    it('has exactly the timm / MAE state-dict keys', () => {
      const sd = model.stateDict();
      expect([...sd.keys()].sort()).toEqual([...stateDictOf(tensors, `gp${gp}.sd.`).keys()].sort());
      expect([...sd.keys()].slice(0, 4)).toEqual(['cls_token', 'pos_embed', 'patch_embed.proj.weight', 'patch_embed.proj.bias']);
      expect(sd.has(globalPool ? 'fc_norm.weight' : 'norm.weight')).toBe(true);
      expect(sd.has(globalPool ? 'norm.weight' : 'fc_norm.weight')).toBe(false);
      for (const t of sd.values()) t.dispose();
    });

    it('matches the official tokens and logits', () => {
      const x = tensors.get('input') as tf.Tensor4D;
      const tokens = model.forwardFeatures(x);
      expectAllClose(tokens, tensors.get(`gp${gp}.tokens`) as tf.Tensor, { rtol: 1e-5, atol: 1e-5 });
      const logits = model.forward(x);
      expect(logits.shape).toEqual([2, 5]);
      expectAllClose(logits, tensors.get(`gp${gp}.logits`) as tf.Tensor, { rtol: 1e-5, atol: 1e-5 });
      tf.dispose([tokens, logits]);
    });
  });

  it('rejects an image of the wrong size, naming the expected size', () => {
    const model = vitTestPatch8({ numClasses: 5 });
    const x = tf.zeros([1, 33, 32, 3]) as tf.Tensor4D;
    expect(() => model.forward(x)).toThrow(ShapeError);
    expect(() => model.forward(x)).toThrow(
      'PatchEmbed.forward: input image size 33×32 does not match the model: expected 32×32',
    );
    tf.dispose(x);
    model.dispose();
  });

  it('rejects an image with the wrong number of channels', () => {
    const model = vitTestPatch8({ numClasses: 5 });
    const x = tf.zeros([1, 32, 32, 1]) as tf.Tensor4D;
    expect(() => model.forward(x)).toThrow('PatchEmbed.forward: x must be NHWC [N,H,W,3], got [1,32,32,1]');
    tf.dispose(x);
    model.dispose();
  });

  it('uses a fixed, untrained sin-cos table with posEmbed "sincos"', () => {
    const model = vitTestPatch8({ numClasses: 0, posEmbed: 'sincos' });
    const table = get2dSincosPosEmbed(32, 4, true);
    expectAllClose(model.posEmbed, tf.expandDims(table, 0), { rtol: 0, atol: 0 });
    expect(model.posEmbed.trainable).toBe(false);
    expect(model.trainableParameters().has('pos_embed')).toBe(false);
    expect(model.trainableParameters().has('cls_token')).toBe(true);
    table.dispose();
    model.dispose();
  });

  it('initialises as timm 0.3.2: zero Linear biases, unit LayerNorms, small tokens', () => {
    const model = vitTestPatch8({ numClasses: 5, generator: new Generator(3) });
    const params = model.namedParameters();
    expect(Array.from(params.get('blocks.0.attn.qkv.bias')!.dataSync()).every((v) => v === 0)).toBe(true);
    expect(Array.from(params.get('head.bias')!.dataSync()).every((v) => v === 0)).toBe(true);
    expect(Array.from(params.get('blocks.1.norm2.weight')!.dataSync()).every((v) => v === 1)).toBe(true);
    const qkv = Array.from(params.get('blocks.0.attn.qkv.weight')!.dataSync());
    const std = Math.sqrt(qkv.reduce((a, v) => a + v * v, 0) / qkv.length);
    expect(std).toBeGreaterThan(0.018);
    expect(std).toBeLessThan(0.022);
    model.dispose();
  });

  it('returns logits [N, numClasses] and pooled features [N, D] without a head', () => {
    const x = tf.randomUniform([3, 32, 32, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    const headless = vitTestPatch8({ numClasses: 0, globalPool: true });
    const y = headless.forward(x);
    expect(y.shape).toEqual([3, 32]);
    tf.dispose([x, y]);
    headless.dispose();
  });

  it('leaks no tensors in forward and backward', async () => {
    const model = vitTestPatch8({ numClasses: 5, dropRate: 0.1, dropPathRate: 0.1, generator: new Generator(5) });
    const x = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    await expectNoLeak(() => model.eval().forward(x));
    model.train();
    const vars = [...model.trainableParameters().values()];
    const { value, grads } = await expectNoLeak(() => {
      const r = tf.variableGrads(() => tf.mean(tf.square(model.forward(x))) as tf.Scalar, vars);
      return { value: r.value.dataSync()[0], grads: Object.keys(r.grads).length, all: [r.value, r.grads] };
    });
    expect(Number.isFinite(value)).toBe(true);
    expect(grads).toBe(vars.length);
    x.dispose();
    model.dispose();
  });
});
