import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { AdamW, Generator, StateDictError } from '@residual/core';
import { expectAllClose, expectNoLeak, fixturePath, loadFixture, useBackend } from '@residual/test-utils';
import { interpolatePosEmbed, vitTestPatch8 } from '@residual/vit';
import { loadMaeEncoder, loadMaePretrained } from './load-mae-checkpoint.js';
import { maeVitTestPatch8 } from './mae-builders.js';
import { paramGroupsLrd } from './param-groups-lrd.js';
import { MaePretrainer } from './pretrainer.js';
import { unwrapStateDict } from './unwrap-state-dict.js';

// Fixture: tools/fixtures/mae_finetune.py — an official tiny MAE checkpoint stripped as the released
// encoder-only files (under `ckpt.model.`), main_finetune.py's loading into models_vit, the official
// param_groups_lrd and interpolate_pos_embed.
describe('fine-tuning from an official MAE checkpoint', () => {
  let tensors: Map<string, tf.Tensor>;
  let meta: Record<string, string>;
  const get = (key: string): tf.Tensor => {
    const t = tensors.get(key);
    if (!t) throw new Error(`fixture has no ${key}`);
    return t;
  };
  const ckptKeys = () => [...tensors.keys()].filter((k) => k.startsWith('ckpt.model.'));

  beforeAll(async () => {
    await useBackend();
    const fixture = loadFixture(fixturePath(path.join(__dirname, '..'), 'mae_finetune.safetensors'));
    tensors = fixture.tensors;
    meta = fixture.metadata;
  });

  afterAll(() => {
    for (const t of tensors.values()) t.dispose();
  });

  it('unwraps the state dict nested under "model" (and DDP "module.") prefixes', () => {
    const sd = unwrapStateDict(tensors);
    expect([...sd.keys()].sort()).toEqual(ckptKeys().map((k) => k.slice('ckpt.model.'.length)).sort());
    expect(sd.get('cls_token')).toBe(get('ckpt.model.cls_token'));
    const nested = { model: { module: { cls_token: get('ckpt.model.cls_token') } }, epoch: 3 };
    expect([...unwrapStateDict(nested).keys()]).toEqual(['cls_token']);
    expect(() => unwrapStateDict(new Map([['x.weight', get('input')]]))).toThrow(
      'unwrapStateDict: no key "cls_token" at any prefix; got 1 keys: x.weight',
    );
  });

  it.each([0, 1])(
    'loads the encoder into a ViT (globalPool %i) with the official missing/unexpected keys and features',
    (gp) => {
      const vit = vitTestPatch8({ numClasses: 5, globalPool: gp === 1, generator: new Generator(0) }).eval();
      const result = loadMaeEncoder(vit, tensors, { generator: new Generator(1) });
      expect(result.missingKeys).toEqual(JSON.parse(meta[`gp${gp}.missing`]));
      expect([...result.unexpectedKeys].sort()).toEqual([...JSON.parse(meta[`gp${gp}.unexpected`])].sort());
      expect(result.droppedKeys).toEqual([]); // the released file has no decoder
      const features = vit.pool(vit.forwardFeatures(get('input') as tf.Tensor4D));
      expectAllClose(features, get(`gp${gp}.features`), { rtol: 1e-5, atol: 1e-5 });
      // main_finetune.py re-initialises the head trunc_normal(std=2e-5)
      const head = Array.from(vit.namedParameters().get('head.weight')?.dataSync() ?? []);
      // (its ±2 cut-off is absolute, so it is a plain normal at this std)
      const std = Math.sqrt(head.reduce((a, v) => a + v * v, 0) / head.length);
      expect(std).toBeGreaterThan(1.5e-5);
      expect(std).toBeLessThan(2.5e-5);
      tf.dispose(features);
      vit.dispose();
    },
  );

  it('drops decoder keys and mask_token of a full pre-training checkpoint', () => {
    const mae = maeVitTestPatch8({ generator: new Generator(2) });
    const sd = mae.stateDict();
    const vit = vitTestPatch8({ numClasses: 5, globalPool: true });
    const result = loadMaeEncoder(vit, { model: Object.fromEntries(sd) });
    expect(result.droppedKeys).toContain('mask_token');
    expect(result.droppedKeys).toContain('decoder_pred.weight');
    expect(result.droppedKeys.every((k) => k === 'mask_token' || k.startsWith('decoder_'))).toBe(true);
    expectAllClose(vit.clsToken, mae.clsToken, { rtol: 0, atol: 0 });
    tf.dispose([...sd.values()]);
    mae.dispose();
    vit.dispose();
  });

  it('refuses a checkpoint without the encoder blocks, naming them', () => {
    const vit = vitTestPatch8({ numClasses: 5 });
    const partial = new Map([...unwrapStateDict(tensors)].filter(([k]) => !k.startsWith('blocks.1.')));
    expect(() => loadMaeEncoder(vit, partial)).toThrow(StateDictError);
    expect(() => loadMaeEncoder(vit, partial)).toThrow(
      'loadMaeEncoder: the checkpoint lacks encoder weights (12): blocks.1.norm1.weight, blocks.1.norm1.bias, ' +
        'blocks.1.attn.qkv.weight, blocks.1.attn.qkv.bias, blocks.1.attn.proj.weight, blocks.1.attn.proj.bias, ' +
        'blocks.1.norm2.weight, blocks.1.norm2.bias, blocks.1.mlp.fc1.weight, blocks.1.mlp.fc1.bias, …',
    );
    vit.dispose();
  });

  it('loads the encoder-only checkpoint into MaskedAutoencoderViT non-strictly, listing the decoder as missing', () => {
    const mae = maeVitTestPatch8();
    const result = loadMaePretrained(mae, tensors);
    expect(result.missingKeys).toEqual(JSON.parse(meta['mae.missing']));
    expect(result.unexpectedKeys).toEqual(JSON.parse(meta['mae.unexpected']));
    expectAllClose(mae.namedParameters().get('blocks.1.mlp.fc2.bias') as tf.Tensor, get('ckpt.model.blocks.1.mlp.fc2.bias'), {
      rtol: 0, atol: 0,
    });
    mae.dispose();
  });

  it.each(['0.75', '0.65'])('builds the official layer-wise lr decay groups (layerDecay %s)', (decay) => {
    const vit = vitTestPatch8({ numClasses: 5, globalPool: true });
    const groups = paramGroupsLrd(vit, { weightDecay: 0.05, noWeightDecayList: vit.noWeightDecay(), layerDecay: Number(decay) });
    const official = JSON.parse(meta[`lrd.${decay}`]) as Array<{ lr_scale: number; weight_decay: number; params: string[] }>;
    expect(groups.map((g) => ({ lr_scale: g.lrScale, weight_decay: g.weightDecay, params: [...g.params.keys()] }))).toEqual(official);
    vit.dispose();
  });

  it('applies lrScale on top of the schedule when groups carry it (lr_sched.adjust_learning_rate)', () => {
    const mae = maeVitTestPatch8({ generator: new Generator(3) });
    const groups = paramGroupsLrd(mae, { layerDecay: 0.5 }); // decoder_* and norm get layer id depth + 1, scale 1
    const opt = new AdamW(groups, { lr: 1 });
    const trainer = new MaePretrainer(mae, opt, { lr: 0.1, warmupEpochs: 0, epochs: 10, itersPerEpoch: 1, accumIter: 2 });
    const x = tf.zeros([1, 32, 32, 3]) as tf.Tensor4D;
    expect(trainer.step(x).updated).toBe(false); // the lr is set at the window's start
    expect(opt.paramGroups.map((g) => g.lr)).toEqual(groups.map((g) => 0.1 * g.lrScale));
    // first appearances: cls_token (layer 0), mask_token (layer 3), patch_embed.proj.bias, blocks.0, blocks.1, norm
    expect(groups.map((g) => g.lrScale)).toEqual([0.125, 1, 0.125, 0.25, 0.25, 0.5, 0.5, 1]);
    x.dispose();
    trainer.dispose();
    opt.dispose();
    mae.dispose();
  });

  it('interpolates the position embedding bicubically as interpolate_pos_embed (grid 4 → 6)', async () => {
    const pos = get('ckpt.model.pos_embed');
    const out = interpolatePosEmbed(pos, 36);
    expect(out.shape).toEqual([1, 37, 32]);
    expectAllClose(out, get('interp.pos_embed'), { rtol: 1e-5, atol: 1e-6 });
    tf.dispose(out);
    await expectNoLeak(() => interpolatePosEmbed(pos, 36));
  });
});
