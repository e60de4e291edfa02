import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { AdamW, Generator, ShapeError } from '@residual/core';
import { expectAllClose, expectNoLeak, fixturePath, loadFixture, useBackend } from '@residual/test-utils';
import { maeVitTestPatch8 } from './mae-builders.js';
import type { MaskedAutoencoderViT } from './masked-autoencoder.js';

// Fixture: tools/fixtures/mae.py runs the official models_mae.py (timm 0.3.2 blocks) on a tiny
// config (img 32, patch 8 → L 16, encoder 32/2 blocks/4 heads, decoder 24/2 blocks/3 heads,
// eps 1e-6), batch 2, mask ratio 0.75, with torch's noise injected.
describe('MaskedAutoencoderViT', () => {
  let tensors: Map<string, tf.Tensor>;
  let gradKeys: string[];
  let model: MaskedAutoencoderViT;
  const get = <T extends tf.Tensor = tf.Tensor>(key: string): T => {
    const t = tensors.get(key);
    if (!t) throw new Error(`fixture has no ${key}`);
    return t as T;
  };

  beforeAll(async () => {
    await useBackend();
    const fixture = loadFixture(fixturePath(path.join(__dirname, '..'), 'mae_tiny.safetensors'));
    tensors = fixture.tensors;
    gradKeys = JSON.parse(fixture.metadata.grad_keys);
    model = maeVitTestPatch8({ generator: new Generator(0) });
    const sd = new Map([...tensors].filter(([k]) => k.startsWith('sd.')).map(([k, v]) => [k.slice(3), v]));
    model.loadStateDict(sd);
  });

  afterAll(() => {
    model.dispose();
    for (const t of tensors.values()) t.dispose();
  });

  it('has the official state-dict keys, root tokens and fixed tables first', () => {
    const sd = model.stateDict();
    const keys = [...sd.keys()];
    expect(keys.slice(0, 6)).toEqual([
      'cls_token', 'pos_embed', 'mask_token', 'decoder_pos_embed', 'patch_embed.proj.weight', 'patch_embed.proj.bias',
    ]);
    expect([...keys].sort()).toEqual([...tensors.keys()].filter((k) => k.startsWith('sd.')).map((k) => k.slice(3)).sort());
    tf.dispose([...sd.values()]);
  });

  it('builds the same sin-cos position tables as the official initialize_weights', () => {
    const fresh = maeVitTestPatch8();
    expectAllClose(fresh.posEmbed, get('sd.pos_embed'), { rtol: 0, atol: 1e-7 });
    expectAllClose(fresh.decoderPosEmbed, get('sd.decoder_pos_embed'), { rtol: 0, atol: 1e-7 });
    expect(fresh.trainableParameters().has('pos_embed')).toBe(false);
    expect(fresh.trainableParameters().has('decoder_pos_embed')).toBe(false);
    fresh.dispose();
  });

  it('matches the official latent, mask and ids_restore', () => {
    const enc = model.forwardEncoder(get<tf.Tensor4D>('input'), 0.75, get<tf.Tensor2D>('noise'));
    expect(enc.latent.shape).toEqual([2, 5, 32]);
    expectAllClose(enc.latent, get('latent'), { rtol: 1e-5, atol: 1e-5 });
    expect(Array.from(enc.mask.dataSync())).toEqual(Array.from(get('mask').dataSync()));
    expect(enc.idsRestore.dtype).toBe('int32');
    expect(Array.from(enc.idsRestore.dataSync())).toEqual(Array.from(get('ids_restore').dataSync()));
    tf.dispose([enc.latent, enc.mask, enc.idsRestore]);
  });

  it('matches the official pred, mask and loss with plain pixel targets', () => {
    const { loss, pred, mask } = model.forward(get<tf.Tensor4D>('input'), { noise: get<tf.Tensor2D>('noise') });
    expect(pred.shape).toEqual([2, 16, 192]);
    expectAllClose(pred, get('pred'), { rtol: 1e-5, atol: 1e-5 });
    expectAllClose(mask, get('mask'), { rtol: 0, atol: 0 });
    expect(loss.shape).toEqual([]);
    expectAllClose(loss, get('pix.loss'), { rtol: 1e-5, atol: 1e-6 });
    tf.dispose([loss, pred, mask]);
  });

  it.each([
    ['plain pixel', 'pix', false],
    ['normalised pixel (normPixLoss)', 'normpix', true],
  ])('matches the official loss and gradients with %s targets', (_name, prefix, normPixLoss) => {
    const m = maeVitTestPatch8({ normPixLoss });
    const sd = model.stateDict();
    m.loadStateDict(sd);
    tf.dispose([...sd.values()]);
    const params = m.namedParameters();
    const vars = gradKeys.map((k) => params.get(k) as tf.Variable);
    const { value, grads } = tf.variableGrads(
      () => {
        const out = m.forward(get<tf.Tensor4D>('input'), { noise: get<tf.Tensor2D>('noise') });
        tf.dispose([out.pred, out.mask]);
        return out.loss;
      },
      vars,
    );
    expectAllClose(value, get(`${prefix}.loss`), { rtol: 1e-5, atol: 1e-6 });
    const sdGrads = new Map(gradKeys.map((k, i) => [k, grads[vars[i].name]]));
    for (const key of gradKeys) {
      // gradients in torch layout: Linear [out,in], conv [D,C,p,p]
      const layoutOf = key === 'patch_embed.proj.weight'
        ? (t: tf.Tensor) => tf.transpose(t, [3, 2, 0, 1])
        : key.endsWith('weight') && !key.includes('norm') ? (t: tf.Tensor) => tf.transpose(t) : (t: tf.Tensor) => t.clone();
      const torchLayout = layoutOf(sdGrads.get(key) as tf.Tensor);
      const expected = get(`${prefix}.grad.${key}`);
      const scale = Math.max(...Array.from(expected.dataSync(), Math.abs));
      // relative to the gradient's largest entry: sums over the batch reorder float32 additions
      expectAllClose(torchLayout, expected, { rtol: 1e-5, atol: 1e-5 * scale });
      torchLayout.dispose();
    }
    tf.dispose([value, grads]);
    m.dispose();
  });

  it('rejects an image of the wrong size, naming the expected size', () => {
    const x = tf.zeros([1, 33, 32, 3]) as tf.Tensor4D;
    expect(() => model.forward(x)).toThrow(ShapeError);
    expect(() => model.forward(x)).toThrow(
      'PatchEmbed.forward: input image size 33×32 does not match the model: expected 32×32',
    );
    x.dispose();
  });

  it('rejects noise of the wrong shape', () => {
    const noise = tf.zeros([2, 15]) as tf.Tensor2D;
    expect(() => model.forward(get<tf.Tensor4D>('input'), { noise })).toThrow('randomMasking: noise must be [2,16] (N, L), got [2,15]');
    noise.dispose();
  });

  it('draws the noise from its generator when none is given, reproducibly', () => {
    const a = maeVitTestPatch8({ generator: new Generator(9) });
    const b = maeVitTestPatch8({ generator: new Generator(9) });
    const x = get<tf.Tensor4D>('input');
    const ra = a.forward(x);
    const rb = b.forward(x);
    expect(Array.from(ra.mask.dataSync())).toEqual(Array.from(rb.mask.dataSync()));
    expect(Array.from(ra.mask.dataSync()).reduce((a, b) => a + b, 0)).toBe(2 * 12); // 16 − trunc(16·0.25) removed per sample
    expectAllClose(ra.loss, rb.loss, { rtol: 0, atol: 0 });
    tf.dispose([ra.loss, ra.pred, ra.mask, rb.loss, rb.pred, rb.mask]);
    a.dispose();
    b.dispose();
  });

  it('leaks no tensors in forward and in a training step', async () => {
    const x = get<tf.Tensor4D>('input');
    await expectNoLeak(() => model.forward(x, { noise: get<tf.Tensor2D>('noise') }));
    const m = maeVitTestPatch8({ generator: new Generator(2) });
    const opt = new AdamW(m.trainableParameters(), { lr: 1e-3, betas: [0.9, 0.95] });
    const step = () => {
      const { value, grads } = tf.variableGrads(() => {
        const out = m.forward(x);
        tf.dispose([out.pred, out.mask]);
        return out.loss;
      }, [...m.trainableParameters().values()]);
      opt.step(grads);
      tf.dispose([value, grads]);
    };
    step(); // creates the optimiser state, which persists
    await expectNoLeak(step);
    opt.dispose();
    m.dispose();
  });

  it('lowers the loss over a few AdamW steps on a fixed batch and noise', () => {
    const m = maeVitTestPatch8({ generator: new Generator(4) });
    const opt = new AdamW(m.trainableParameters(), { lr: 3e-3, betas: [0.9, 0.95], weightDecay: 0.05 });
    const x = get<tf.Tensor4D>('input');
    const losses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const { value, grads } = tf.variableGrads(() => {
        const out = m.forward(x, { noise: get<tf.Tensor2D>('noise') });
        tf.dispose([out.pred, out.mask]);
        return out.loss;
      }, [...m.trainableParameters().values()]);
      losses.push(value.dataSync()[0]);
      opt.step(grads);
      tf.dispose([value, grads]);
    }
    expect(losses[7]).toBeLessThan(0.8 * losses[0]);
    opt.dispose();
    m.dispose();
  });
});
