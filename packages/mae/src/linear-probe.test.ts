import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Generator, ShapeError, ValueError } from '@residual/core';
import { expectAllClose, expectNoLeak, fixturePath, loadFixture, useBackend } from '@residual/test-utils';
import { vitTestPatch8, type VisionTransformer } from '@residual/vit';
import { LARS } from './lars.js';
import { LinearProbe, freezeForLinearProbe, linearProbeHead } from './linear-probe.js';
import { loadMaeEncoder } from './load-mae-checkpoint.js';
import { maeVitTestPatch8 } from './mae-builders.js';

// Fixture: tools/fixtures/mae_linprobe.py — the official models_vit ViT (img 32, patch 8, D 32,
// depth 2, 5 classes, class token) with main_linprobe.py's BatchNorm + Linear head, frozen encoder,
// util/lars.py LARS (lr 0.5, weight decay 0.01) and cross entropy, three steps in train mode.
describe('linear probing (main_linprobe.py)', () => {
  let tensors: Map<string, tf.Tensor>;
  let meta: Record<string, string>;
  const get = (key: string): tf.Tensor => {
    const t = tensors.get(key);
    if (!t) throw new Error(`fixture has no ${key}`);
    return t;
  };
  const probeVit = (): VisionTransformer => {
    const vit = vitTestPatch8({ numClasses: 5, head: linearProbeHead(32, 5, { generator: new Generator(4) }), generator: new Generator(5) });
    const sd = new Map([...tensors].filter(([k]) => k.startsWith('sd.')).map(([k, t]) => [k.slice(3), t] as const));
    vit.loadStateDict(sd);
    return vit;
  };

  beforeAll(async () => {
    await useBackend();
    const fixture = loadFixture(fixturePath(path.join(__dirname, '..'), 'mae_linprobe.safetensors'));
    tensors = fixture.tensors;
    meta = fixture.metadata;
  });

  afterAll(() => {
    for (const t of tensors.values()) t.dispose();
  });

  it('builds the official head: BatchNorm1d without affine (eps 1e-6) and a Linear with trunc-normal(0.01) weights', () => {
    const vit = vitTestPatch8({ numClasses: 7, head: linearProbeHead(32, 7, { generator: new Generator(1) }) });
    const sd = vit.stateDict();
    expect([...sd.keys()].filter((k) => k.startsWith('head.'))).toEqual([
      'head.0.running_mean', 'head.0.running_var', 'head.0.num_batches_tracked', 'head.1.weight', 'head.1.bias',
    ]);
    expect(sd.get('head.1.weight')?.shape).toEqual([7, 32]);
    const w = Array.from(sd.get('head.1.weight')?.dataSync() ?? []);
    const std = Math.sqrt(w.reduce((a, v) => a + v * v, 0) / w.length);
    expect(std).toBeGreaterThan(0.007); // the ViT's own init (std 0.02) must not overwrite it
    expect(std).toBeLessThan(0.013);
    expect(Array.from(sd.get('head.1.bias')?.dataSync() ?? []).every((v) => v === 0)).toBe(true);
    tf.dispose([...sd.values()]);
    vit.dispose();
  });

  it('freezes everything but the head, as the reference', () => {
    const vit = probeVit();
    const params = freezeForLinearProbe(vit);
    expect([...params.keys()]).toEqual(JSON.parse(meta.trainable));
    expect([...params.keys()]).toEqual(['head.1.weight', 'head.1.bias']);
    vit.dispose();
  });

  it('refuses a ViT whose encoder is still trainable', () => {
    const vit = probeVit();
    const opt = new LARS([...vit.head.parameters()], { lr: 0.1 });
    expect(() => new LinearProbe(vit, opt)).toThrow(ValueError);
    expect(() => new LinearProbe(vit, opt)).toThrow(
      'LinearProbe: only the head may be trainable, got 30 other trainable parameters (cls_token, pos_embed, ' +
        'patch_embed.proj.weight, …); call freezeForLinearProbe(vit) first',
    );
    opt.dispose();
    vit.dispose();
  });

  it('matches the official logits, gradients, LARS updates and BatchNorm statistics over three steps', () => {
    const vit = probeVit();
    const params = freezeForLinearProbe(vit);
    const frozenBefore = vit.namedParameters().get('blocks.1.mlp.fc2.weight')?.clone() as tf.Tensor;
    const opt = new LARS(params, { lr: Number(meta.lr), weightDecay: Number(meta.weight_decay) });
    const probe = new LinearProbe(vit, opt);

    // step 0's forward and gradient, as the reference sees them (train mode: batch statistics)
    const before = vit.stateDict();
    const features = probe.features(get('input.0') as tf.Tensor4D);
    const logits = tf.tidy(() => vit.head.forward(features));
    expectAllClose(logits, get('logits.0'), { rtol: 1e-5, atol: 1e-5 });
    tf.dispose([logits, features]);
    vit.loadStateDict(before); // undo that check's update of the running statistics
    const losses: number[] = [];
    for (let s = 0; s < 3; s++) losses.push(probe.step(get(`input.${s}`) as tf.Tensor4D, get(`labels.${s}`) as tf.Tensor1D).loss);
    expect(losses).toHaveLength(3);
    const expected = Array.from(get('loss').dataSync());
    losses.forEach((l, i) => expect(Math.abs(l - expected[i])).toBeLessThan(1e-5 * expected[i]));
    const after = vit.stateDict();
    for (const key of ['head.0.running_mean', 'head.0.running_var', 'head.1.weight', 'head.1.bias']) {
      expectAllClose(after.get(key) as tf.Tensor, get(`after.${key}`), { rtol: 1e-5, atol: 1e-6 });
    }
    // the encoder did not move
    expectAllClose(vit.namedParameters().get('blocks.1.mlp.fc2.weight') as tf.Tensor, frozenBefore, { rtol: 0, atol: 0 });
    tf.dispose([frozenBefore, ...before.values(), ...after.values()]);
    opt.dispose();
    vit.dispose();
  });

  it('gives the head gradient of the reference and none to the frozen encoder', () => {
    const vit = probeVit();
    freezeForLinearProbe(vit);
    const x = get('input.0') as tf.Tensor4D;
    const vars = [...vit.trainableParameters().values()];
    const { value, grads } = tf.variableGrads(() => {
      const logits = vit.forward(x);
      return tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(get('labels.0') as tf.Tensor1D, 5)), 1)))) as tf.Scalar;
    }, vars);
    expect(Object.keys(grads)).toEqual(vars.map((v) => v.name));
    expect(vars).toEqual([vit.namedParameters().get('head.1.weight'), vit.namedParameters().get('head.1.bias')]);
    // tfjs keeps Linear weights as [in, out]: the reference's [out, in] transposed
    const gw = tf.transpose(grads[vars[0].name]);
    // The weight gradient is BN(features)ᵀ·dlogits: BatchNorm divides the encoder's float32 rounding
    // (~1e-6) by the batch std of each feature, so allow 2e-5 absolute (entries up to 0.43; measured 5.7e-6).
    expectAllClose(gw, get('grad.0.head.1.weight'), { rtol: 1e-5, atol: 2e-5 });
    expectAllClose(grads[vars[1].name], get('grad.0.head.1.bias'), { rtol: 1e-5, atol: 1e-7 });
    tf.dispose([value, gw, grads]);
    vit.dispose();
  });

  it('loads an MAE encoder into the probe, keeping its head as built', () => {
    const mae = maeVitTestPatch8({ generator: new Generator(2) });
    const sd = mae.stateDict();
    const vit = vitTestPatch8({ numClasses: 5, head: linearProbeHead(32, 5, { generator: new Generator(3) }) });
    const headBefore = vit.namedParameters().get('head.1.weight')?.clone() as tf.Tensor;
    const withHead = new Map(sd);
    withHead.set('head.weight', tf.zeros([10, 32])); // a fine-tuned head of another task: dropped
    const result = loadMaeEncoder(vit, withHead);
    expect(result.missingKeys).toEqual(['head.0.running_mean', 'head.0.running_var', 'head.0.num_batches_tracked', 'head.1.weight', 'head.1.bias']);
    expect(result.droppedKeys).toContain('head.weight');
    expectAllClose(vit.namedParameters().get('head.1.weight') as tf.Tensor, headBefore, { rtol: 0, atol: 0 });
    expectAllClose(vit.namedParameters().get('blocks.0.attn.qkv.weight') as tf.Tensor, mae.namedParameters().get('blocks.0.attn.qkv.weight') as tf.Tensor, { rtol: 0, atol: 0 });
    tf.dispose([...withHead.values(), headBefore]);
    mae.dispose();
    vit.dispose();
  });

  it('checks the labels and leaks nothing in a step', async () => {
    const vit = probeVit();
    const opt = new LARS(freezeForLinearProbe(vit), { lr: 0.1 });
    const probe = new LinearProbe(vit, opt);
    const x = get('input.1') as tf.Tensor4D;
    const bad = tf.zeros([3], 'int32') as tf.Tensor1D;
    expect(() => probe.step(x, bad)).toThrow(ShapeError);
    expect(() => probe.step(x, bad)).toThrow('LinearProbe.step: labels must be [8] (one per image), got [3]');
    probe.step(x, get('labels.1') as tf.Tensor1D); // the optimiser's momentum buffers exist from here on
    await expectNoLeak(() => probe.step(x, get('labels.1') as tf.Tensor1D));
    bad.dispose();
    opt.dispose();
    vit.dispose();
  });
});
