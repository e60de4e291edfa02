import * as tf from '@tensorflow/tfjs-core';
import { AdamW, Generator, SGD, ValueError } from '@residual/core';
import { expectAllClose, expectNoLeak, useBackend } from '@residual/test-utils';
import { maeVitTestPatch8 } from './mae-builders.js';
import { maePretrainParamGroups } from './pretrain-param-groups.js';
import { MaePretrainer } from './pretrainer.js';

describe('maePretrainParamGroups', () => {
  beforeAll(async () => {
    await useBackend();
  });

  it('exempts 1-D parameters and biases from weight decay and leaves out the fixed tables, as add_weight_decay', () => {
    const model = maeVitTestPatch8();
    const [noDecay, decay] = maePretrainParamGroups(model, 0.05);
    expect(noDecay.weightDecay).toBe(0);
    expect(decay.weightDecay).toBe(0.05);
    expect(noDecay.params.has('blocks.0.norm1.weight')).toBe(true);
    expect(noDecay.params.has('patch_embed.proj.bias')).toBe(true);
    expect(decay.params.has('cls_token')).toBe(true);
    expect(decay.params.has('mask_token')).toBe(true);
    expect(decay.params.has('blocks.0.attn.qkv.weight')).toBe(true);
    expect(decay.params.has('patch_embed.proj.weight')).toBe(true);
    const all = [...noDecay.params.keys(), ...decay.params.keys()];
    expect(all).not.toContain('pos_embed');
    expect(all).not.toContain('decoder_pos_embed');
    expect(all.length).toBe(model.namedParameters().size - 2);
    model.dispose();
  });
});

describe('MaePretrainer', () => {
  const batch = (seed: number) => tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', seed) as tf.Tensor4D;
  const noiseOf = (seed: number) => tf.randomUniform([2, 16], 0, 1, 'float32', seed) as tf.Tensor2D;

  beforeAll(async () => {
    await useBackend();
  });

  it('sets the lr per iteration at the start of each accumulation window (warm-up, then half-cycle cosine)', () => {
    const model = maeVitTestPatch8({ generator: new Generator(1) });
    const opt = new AdamW(maePretrainParamGroups(model, 0.05), { lr: 1, betas: [0.9, 0.95] });
    const trainer = new MaePretrainer(model, opt, { lr: 1e-3, warmupEpochs: 1, epochs: 3, itersPerEpoch: 4, accumIter: 2 });
    const x = batch(0);
    const lrs: number[] = [];
    const updated: boolean[] = [];
    for (let i = 0; i < 8; i++) {
      const r = trainer.step(x);
      lrs.push(r.lr);
      updated.push(r.updated);
    }
    const cos = (e: number) => 1e-3 * 0.5 * (1 + Math.cos((Math.PI * (e - 1)) / 2));
    expectAllClose(lrs, [0, 0, 0.5e-3, 0.5e-3, cos(1), cos(1), cos(1.5), cos(1.5)], { rtol: 1e-12, atol: 0 });
    expect(updated).toEqual([false, true, false, true, false, true, false, true]);
    expect(opt.paramGroups.every((g) => g.lr === cos(1.5))).toBe(true);
    trainer.dispose();
    tf.dispose(x);
    opt.dispose();
    model.dispose();
  });

  it('accumulates gradients: two micro-batches equal one step on the mean loss', () => {
    const a = maeVitTestPatch8({ generator: new Generator(2) });
    const b = maeVitTestPatch8({ generator: new Generator(2) });
    const [x1, x2, n1, n2] = [batch(1), batch(2), noiseOf(3), noiseOf(4)];
    const trainer = new MaePretrainer(a, new SGD(a.trainableParameters(), { lr: 1 }), {
      lr: 0.1, warmupEpochs: 0, epochs: 10, itersPerEpoch: 100, accumIter: 2,
    });
    trainer.step(x1, n1);
    trainer.step(x2, n2);
    const sgd = new SGD(b.trainableParameters(), { lr: 0.1 });
    const { value, grads } = tf.variableGrads(() => {
      const o1 = b.forward(x1, { noise: n1 });
      const o2 = b.forward(x2, { noise: n2 });
      tf.dispose([o1.pred, o1.mask, o2.pred, o2.mask]);
      return tf.div(tf.add(o1.loss, o2.loss), 2) as tf.Scalar;
    }, [...b.trainableParameters().values()]);
    sgd.step(grads);
    tf.dispose([value, grads]);
    const pb = b.namedParameters();
    for (const [name, p] of a.namedParameters()) expectAllClose(p, pb.get(name) as tf.Tensor, { rtol: 1e-5, atol: 1e-7 });
    tf.dispose([x1, x2, n1, n2]);
    trainer.dispose();
    a.dispose();
    b.dispose();
  });

  it('leaks no tensors over an accumulation window once the optimiser state exists', async () => {
    const model = maeVitTestPatch8({ generator: new Generator(3) });
    const opt = new AdamW(maePretrainParamGroups(model, 0.05), { lr: 1e-3, betas: [0.9, 0.95] });
    const trainer = new MaePretrainer(model, opt, { lr: 1e-3, warmupEpochs: 1, epochs: 2, itersPerEpoch: 10, accumIter: 2 });
    const x = batch(5);
    trainer.step(x);
    trainer.step(x);
    await expectNoLeak(() => {
      trainer.step(x);
      trainer.step(x);
    });
    trainer.dispose();
    tf.dispose(x);
    opt.dispose();
    model.dispose();
  });

  it('rejects a non-integer accumIter', () => {
    const model = maeVitTestPatch8();
    const opt = new SGD(model.trainableParameters(), { lr: 1 });
    expect(() => new MaePretrainer(model, opt, { lr: 1, warmupEpochs: 0, epochs: 1, itersPerEpoch: 1, accumIter: 0 })).toThrow(
      ValueError,
    );
    expect(() => new MaePretrainer(model, opt, { lr: 1, warmupEpochs: 0, epochs: 1, itersPerEpoch: 1, accumIter: 1.5 })).toThrow(
      'MaePretrainer: accumIter must be a positive integer, got 1.5',
    );
    model.dispose();
  });
});
