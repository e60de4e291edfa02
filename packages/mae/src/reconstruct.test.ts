import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Generator, ShapeError } from '@residual/core';
import { expectAllClose, expectNoLeak, fixturePath, loadFixture, useBackend } from '@residual/test-utils';
import sharp from 'sharp';
import { maeVitTestPatch8 } from './mae-builders.js';
import type { MaskedAutoencoderViT } from './masked-autoencoder.js';
import { patchify, unpatchify } from './patchify.js';
import { reconstruct } from './reconstruct.js';
import { renderReconstructionGrid } from './reconstruction-grid.js';
import { writeReconstructionGrid } from './write-reconstruction-grid.js';

// Uses the official-code fixture of masked-autoencoder.test.ts (tools/fixtures/mae.py): weights,
// input [2, 32, 32, 3], torch's noise and the official pred.
describe('reconstruct and the reconstruction grid', () => {
  let tensors: Map<string, tf.Tensor>;
  let model: MaskedAutoencoderViT;
  const get = <T extends tf.Tensor = tf.Tensor>(key: string): T => tensors.get(key) as T;

  beforeAll(async () => {
    await useBackend();
    tensors = loadFixture(fixturePath(path.join(__dirname, '..'), 'mae_tiny.safetensors')).tensors;
    model = maeVitTestPatch8({ generator: new Generator(0) });
    model.loadStateDict(new Map([...tensors].filter(([k]) => k.startsWith('sd.')).map(([k, v]) => [k.slice(3), v])));
  });

  afterAll(() => {
    model.dispose();
    for (const t of tensors.values()) t.dispose();
  });

  it('blanks the removed patches, reconstructs as the official pred and pastes the visible patches back', () => {
    const x = get<tf.Tensor4D>('input');
    const r = reconstruct(model, x, { noise: get<tf.Tensor2D>('noise') });
    const expected = unpatchify(get<tf.Tensor3D>('pred'), 8);
    expectAllClose(r.reconstruction, expected, { rtol: 1e-5, atol: 1e-5 });
    expect(Array.from(r.mask.dataSync())).toEqual(Array.from(get('mask').dataSync()));
    // patch l of sample b: removed → masked 0 and pasted = reconstruction; kept → both the input
    const [xp, mp, rp, pp] = [x, r.masked, r.reconstruction, r.pasted].map((t) => patchify(t, 8).arraySync());
    const mask = get('mask').arraySync() as number[][];
    for (let b = 0; b < 2; b++) {
      for (let l = 0; l < 16; l++) {
        const removed = mask[b][l] === 1;
        // (+ 0 turns the −0 of a negative pixel times 0 into 0)
        expect(mp[b][l].map((v) => v + 0)).toEqual(removed ? xp[b][l].map(() => 0) : xp[b][l]);
        expect(pp[b][l]).toEqual(removed ? rp[b][l] : xp[b][l]);
      }
    }
    tf.dispose([r.masked, r.reconstruction, r.pasted, r.mask, expected]);
  });

  it('un-normalises normPixLoss predictions with each patch mean and variance', () => {
    const m = maeVitTestPatch8({ normPixLoss: true });
    const sd = model.stateDict();
    m.loadStateDict(sd);
    const x = get<tf.Tensor4D>('input');
    const r = reconstruct(m, x, { noise: get<tf.Tensor2D>('noise') });
    const out = m.forward(x, { noise: get<tf.Tensor2D>('noise') });
    // re-normalising the reconstruction with the input's patch statistics gives back pred
    const renormalised = tf.tidy(() => {
      const target = patchify(x, 8);
      const mean = tf.mean(target, -1, true);
      const variance = tf.div(tf.sum(tf.square(tf.sub(target, mean)), -1, true), 191);
      return tf.div(tf.sub(patchify(r.reconstruction, 8), mean), tf.sqrt(tf.add(variance, 1e-6)));
    });
    expectAllClose(renormalised, out.pred, { rtol: 1e-4, atol: 1e-5 });
    tf.dispose([...sd.values(), r.masked, r.reconstruction, r.pasted, r.mask, out.loss, out.pred, out.mask, renormalised]);
    m.dispose();
  });

  it('leaks no tensors', async () => {
    await expectNoLeak(() => reconstruct(model, get<tf.Tensor4D>('input'), { noise: get<tf.Tensor2D>('noise') }));
  });

  it('writes a PNG grid: one row per sample, original | masked | reconstruction | pasted, un-normalised', async () => {
    const x = get<tf.Tensor4D>('input');
    const r = reconstruct(model, x, { noise: get<tf.Tensor2D>('noise') });
    const mean = [0.485, 0.456, 0.406];
    const std = [0.229, 0.224, 0.225];
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mae-grid-'));
    const file = path.join(dir, 'grid.png');
    await writeReconstructionGrid(file, x, r, { mean, std });
    const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([4 * 32 + 3 * 2, 2 * 32 + 2, 3]);
    const at = (px: number, py: number) => Array.from(data.subarray((py * info.width + px) * 3, (py * info.width + px) * 3 + 3));
    const toByte = (v: number, c: number) => Math.round(Math.min(Math.max(v * std[c] + mean[c], 0), 1) * 255);
    const img = x.arraySync();
    // sample 1, pixel (5, 7) of the original tile (row 2 starts at 32 + 2)
    expect(at(7, 34 + 5)).toEqual([0, 1, 2].map((c) => toByte(img[1][5][7][c], c)));
    expect(at(32, 0)).toEqual([255, 255, 255]); // the gap
    const mask = get('mask').arraySync() as number[][];
    const l = mask[0].indexOf(1); // a removed patch of sample 0 shows the mean colour in the masked tile
    const [py, px] = [Math.floor(l / 4) * 8, (l % 4) * 8];
    expect(at(34 + px, py)).toEqual([0, 1, 2].map((c) => toByte(0, c)));
    expect(renderReconstructionGrid(x, r, { mean, std }).data).toEqual(new Uint8Array(data));
    await fs.rm(dir, { recursive: true, force: true });
    tf.dispose([r.masked, r.reconstruction, r.pasted, r.mask]);
  });

  it('rejects tiles of different shapes', () => {
    const x = get<tf.Tensor4D>('input');
    const small = tf.zeros([1, 32, 32, 3]) as tf.Tensor4D;
    expect(() => renderReconstructionGrid(x, { masked: small, reconstruction: x, pasted: x })).toThrow(ShapeError);
    expect(() => renderReconstructionGrid(x, { masked: small, reconstruction: x, pasted: x })).toThrow(
      'renderReconstructionGrid: all four images must be [N,H,W,3] like the original, got [2,32,32,3], [1,32,32,3], [2,32,32,3], [2,32,32,3]',
    );
    small.dispose();
  });
});
