import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { AdamW, Generator } from '@residual/core';
import { saveSafetensors } from '@residual/core/node';
import { IMAGENET_MEAN, IMAGENET_STD, readImage } from '@residual/data';
import { MaePretrainer, maeVitTestPatch8, reconstruct, renderReconstructionGrid, type MaskedAutoencoderViT } from '@residual/mae';
import { MaeCheckpointDir } from '@residual/mae/node';
import { useBackend } from '@residual/test-utils';
import sharp from 'sharp';
import { maeInput } from '../src/pretrain-command.js';
import { fixture, runCli, tempDir } from './run-cli.js';

describe('residual reconstruct', () => {
  let dir: string;
  let weights: string;
  let model: MaskedAutoencoderViT;
  const photo = fixture('classify', 'photo.png');

  /** The grid the command must draw for one image, computed with the library directly. */
  async function expectedGrid(image: string, seed: number, maskRatio = 0.75): Promise<Uint8Array> {
    const decoded = await readImage(image);
    const input = tf.tidy(() => maeInput(tf.expandDims(decoded, 0) as tf.Tensor4D, 32));
    const noise = new Generator(seed).uniform([1, 16]) as tf.Tensor2D;
    const result = reconstruct(model.eval(), input, { noise, maskRatio });
    const grid = renderReconstructionGrid(input, result, { mean: [...IMAGENET_MEAN], std: [...IMAGENET_STD] });
    tf.dispose([decoded, input, noise, result.masked, result.reconstruction, result.pasted, result.mask]);
    return grid.data;
  }

  const pngPixels = async (file: string) => {
    const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
    return { data: new Uint8Array(data), width: info.width, height: info.height };
  };

  beforeAll(async () => {
    await useBackend();
    dir = tempDir();
    model = maeVitTestPatch8({ generator: new Generator(7) });
    weights = path.join(dir, 'mae-tiny.safetensors');
    const sd = model.stateDict();
    await saveSafetensors(weights, sd); // no trainer.json beside it: the shapes give the model
    tf.dispose([...sd.values()]);
  });

  afterAll(() => model.dispose());

  it('writes the four-panel grid of each image, as the library draws it', async () => {
    const out = path.join(dir, 'out1');
    const before = tf.memory().numTensors;
    const { code, stdout, stderr } = await runCli(['reconstruct', '--weights', weights, photo, '--out', out, '--seed', '3']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: `reconstruct 1/1 ${photo}\n` });
    expect(tf.memory().numTensors).toBe(before);
    expect(stdout).toMatch(new RegExp(`^${path.join(out, 'photo.png')}  \\(loss on the removed patches \\d\\.\\d{4}\\)\\n$`));
    const png = await pngPixels(path.join(out, 'photo.png'));
    expect([png.width, png.height]).toEqual([4 * 32 + 3 * 2, 32]);
    expect(png.data).toEqual(await expectedGrid(photo, 3));
  });

  it('reads the model from the latest checkpoint of a residual pretrain directory, and gives JSON', async () => {
    const optimizer = new AdamW([...model.trainableParameters().values()], { lr: 1e-3 });
    const trainer = new MaePretrainer(model, optimizer, { lr: 1e-3, warmupEpochs: 0, epochs: 1, itersPerEpoch: 1 });
    const root = path.join(dir, 'ckpt');
    await new MaeCheckpointDir(root).save(trainer.checkpoint());
    optimizer.dispose();
    const out = path.join(dir, 'out2');
    const { code, stdout } = await runCli(['reconstruct', '--weights', root, photo, '--out', out, '--mask-ratio', '0.5', '--json']);
    expect(code).toBe(0);
    const [result] = JSON.parse(stdout) as Array<{ image: string; output: string; loss: number }>;
    expect(result).toMatchObject({ image: photo, output: path.join(out, 'photo.png') });
    expect(Number.isFinite(result.loss)).toBe(true);
    expect((await pngPixels(result.output)).data).toEqual(await expectedGrid(photo, 0, 0.5));
  });

  it('names an image that does not exist', async () => {
    const missing = path.join(dir, 'nope.png');
    const r = await runCli(['reconstruct', '--weights', weights, missing, '--out', path.join(dir, 'out3')]);
    expect(r).toEqual({ code: 1, stdout: '', stderr: `residual reconstruct: cannot read image ${missing}: no such file or directory\n` });
  });

  it('refuses weights that are not an MAE with its decoder', async () => {
    const other = path.join(dir, 'resnet.safetensors');
    await saveSafetensors(other, { 'conv1.weight': tf.zeros([4, 3, 3, 3]) });
    const r1 = await runCli(['reconstruct', '--weights', other, photo, '--out', path.join(dir, 'out4')]);
    expect(r1).toEqual({
      code: 1,
      stdout: '',
      stderr: `residual reconstruct: --weights ${other}: not MAE weights (unwrapStateDict: no key "cls_token" at any prefix; got 1 keys: conv1.weight)\n`,
    });
    const encoderOnly = path.join(dir, 'encoder.safetensors');
    const sd = model.stateDict();
    await saveSafetensors(encoderOnly, Object.fromEntries([...sd].filter(([k]) => !k.startsWith('decoder_') && k !== 'mask_token')));
    tf.dispose([...sd.values()]);
    const r2 = await runCli(['reconstruct', '--weights', encoderOnly, photo, '--out', path.join(dir, 'out5')]);
    expect(r2.stderr).toBe(`residual reconstruct: --weights ${encoderOnly}: no 2-D "decoder_embed.weight": not an MAE model with its decoder\n`);
    const missingFile = path.join(dir, 'none.safetensors');
    const r3 = await runCli(['reconstruct', '--weights', missingFile, photo, '--out', path.join(dir, 'out6')]);
    expect(r3.code).toBe(1);
    expect(r3.stderr).toContain(missingFile);
    expect(fs.existsSync(path.join(dir, 'out4'))).toBe(false);
  });

  it('checks its flags first (exit code 2)', async () => {
    const first = async (argv: string[]) => {
      const r = await runCli(argv);
      return [r.code, r.stderr.split('\n')[0]];
    };
    expect(await first(['reconstruct', photo, '--out', 'o'])).toEqual([2, 'residual reconstruct: missing required flag --weights']);
    expect(await first(['reconstruct', '--weights', weights, '--out', 'o'])).toEqual([2, 'residual reconstruct: expected at least 1 argument (IMAGES...), got 0']);
    expect(await first(['reconstruct', '--weights', weights, photo, '--out', 'o', '--mask-ratio', '1.5'])).toEqual([
      2, 'residual reconstruct: --mask-ratio must be in [0, 1), got 1.5',
    ]);
  });
});
