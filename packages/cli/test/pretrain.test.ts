import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadSafetensors } from '@residual/core/node';
import { useBackend } from '@residual/test-utils';
import sharp from 'sharp';
import { runCli, tempDir } from './run-cli.js';

/** Four small RGB images of different sizes (resized to the tiny model's 32×32). */
async function imageFolder(): Promise<string> {
  const dir = tempDir();
  for (let i = 0; i < 4; i++) {
    const [w, h] = [24 + 8 * i, 40 - 4 * i];
    const data = Buffer.alloc(w * h * 3);
    for (let p = 0; p < data.length; p++) data[p] = (p * (i + 3) + (p % 7) * 31) % 256;
    await sharp(data, { raw: { width: w, height: h, channels: 3 } }).png().toFile(path.join(dir, `img${i}.png`));
  }
  return dir;
}

const latest = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'latest'), 'utf8')) as { latest: string; iteration: number; kept: string[] };

describe('residual pretrain', () => {
  let data: string;
  const args = (out: string, ...more: string[]) =>
    ['pretrain', '--data', data, '--out', out, '--model', 'tiny', '--batch-size', '2', '--epochs', '2', '--lr', '1e-3', '--json', ...more];

  beforeAll(async () => {
    await useBackend();
    data = await imageFolder();
  });

  it('trains the tiny MAE on a folder of images, writing a checkpoint after every epoch', async () => {
    const out = path.join(tempDir(), 'ckpt');
    const before = tf.memory().numTensors;
    const { code, stdout, stderr } = await runCli(args(out));
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(tf.memory().numTensors).toBe(before);
    const result = JSON.parse(stdout) as { iterations: number; trainedIterations: number; firstLoss: number; lastLoss: number; checkpoint: string };
    expect(result).toMatchObject({ iterations: 4, trainedIterations: 4, checkpoint: path.resolve(out, 'checkpoint-00000004') });
    expect(Number.isFinite(result.firstLoss) && Number.isFinite(result.lastLoss)).toBe(true);
    expect(latest(out)).toEqual({ latest: 'checkpoint-00000004', iteration: 4, kept: ['checkpoint-00000004', 'checkpoint-00000002'] });
    const { tensors } = await loadSafetensors(path.join(out, 'checkpoint-00000004', 'model.safetensors'));
    expect(tensors.get('patch_embed.proj.weight')?.shape).toEqual([32, 3, 8, 8]); // torch layout
    expect(tensors.get('decoder_pred.weight')?.shape).toEqual([192, 24]);
    tf.dispose([...tensors.values()]);
  });

  it('resumes after an interruption exactly where the uninterrupted run would be', async () => {
    const full = path.join(tempDir(), 'full');
    expect((await runCli(args(full))).code).toBe(0);
    // a run that stopped after its first epoch: the second checkpoint never happened
    const cut = path.join(tempDir(), 'cut');
    expect((await runCli(args(cut))).code).toBe(0);
    fs.rmSync(path.join(cut, 'checkpoint-00000004'), { recursive: true });
    fs.writeFileSync(path.join(cut, 'latest'), JSON.stringify({ latest: 'checkpoint-00000002', iteration: 2, kept: ['checkpoint-00000002'] }));
    const resumed = await runCli(args(cut, '--resume'));
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ iterations: 4, trainedIterations: 2 });
    const a = await loadSafetensors(path.join(full, 'checkpoint-00000004', 'model.safetensors'));
    const b = await loadSafetensors(path.join(cut, 'checkpoint-00000004', 'model.safetensors'));
    for (const [key, t] of a.tensors) expect({ key, values: Array.from(b.tensors.get(key)?.dataSync() ?? []) }).toEqual({ key, values: Array.from(t.dataSync()) });
    tf.dispose([...a.tensors.values(), ...b.tensors.values()]);
  });

  it('pre-trains on MNIST digits', async () => {
    const out = path.join(tempDir(), 'mnist');
    const { code, stdout } = await runCli(['pretrain', '--data', 'mnist', '--limit', '20', '--batch-size', '10', '--out', out, '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ model: 'tiny', imgSize: 32, iterations: 2, trainedIterations: 2 });
  });

  it('shows progress with the loss, and a summary', async () => {
    const out = path.join(tempDir(), 'plain');
    const { code, stdout, stderr } = await runCli(args(out).filter((a) => a !== '--json'));
    expect(code).toBe(0);
    expect(stderr).toMatch(/^pretrain: MAE tiny \(32×32\) on 4 images of .*, 2 epochs of 2 iterations, lr 1\.000e-3\npretrain 1\/4 loss \d\.\d{4}\n/);
    expect(stdout).toMatch(/^loss \d\.\d{4} → \d\.\d{4} over 4 iterations\ncheckpoint: .*checkpoint-00000004\n$/);
  });

  it('refuses to overwrite checkpoints without --resume, and to resume from nothing', async () => {
    const out = path.join(tempDir(), 'twice');
    expect((await runCli(args(out))).code).toBe(0);
    expect(await runCli(args(out))).toEqual({
      code: 1,
      stdout: '',
      stderr: `residual pretrain: --out ${out} already holds checkpoints: pass --resume to continue them, or choose another directory\n`,
    });
    const empty = path.join(tempDir(), 'empty');
    expect((await runCli(args(empty, '--resume'))).stderr).toBe(`residual pretrain: --resume: no checkpoint in ${empty} (no "latest" file)\n`);
  });

  it('names a missing data folder', async () => {
    const missing = path.join(tempDir(), 'nope');
    const { code, stderr } = await runCli(['pretrain', '--data', missing, '--out', path.join(tempDir(), 'x')]);
    expect({ code, stderr }).toEqual({ code: 1, stderr: `residual pretrain: cannot read image ${missing}: no such file or directory\n` });
  });

  it('checks its flags first (exit code 2)', async () => {
    const first = async (argv: string[]) => {
      const r = await runCli(argv);
      return [r.code, r.stderr.split('\n')[0]];
    };
    expect(await first(['pretrain', '--data', 'mnist'])).toEqual([2, 'residual pretrain: missing required flag --out']);
    expect(await first(['pretrain', '--data', 'mnist', '--out', 'o', '--model', 'giant'])).toEqual([
      2, 'residual pretrain: --model must be one of tiny, base, large, huge, got "giant"',
    ]);
    expect(await first(['pretrain', '--data', 'mnist', '--out', 'o', '--mask-ratio', '1'])).toEqual([2, 'residual pretrain: --mask-ratio must be in [0, 1), got 1']);
    expect(await first(['pretrain', '--data', 'mnist', '--out', 'o', '--warmup-epochs', '1'])).toEqual([
      2, 'residual pretrain: --warmup-epochs (1) must be below --epochs (1)',
    ]);
    expect(await first(['pretrain', '--data', 'mnist', '--out', 'o', '--batch-size', '0'])).toEqual([2, 'residual pretrain: --batch-size must be an integer ≥ 1, got "0"']);
  });
});
