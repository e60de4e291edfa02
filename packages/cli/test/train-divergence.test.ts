import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeShapesDataset } from '@residual/data';
import { useBackend } from '@residual/test-utils';
import { runCli, tempDir } from './run-cli.js';

// Issue 10, from outside: a run whose weights turn NaN/Infinity at the last step of an epoch (its
// loss was still finite) stops with the train loop's divergence message and does not write that
// epoch's checkpoint; the last good one stays. Two 64-px images in one batch make one iteration per
// epoch; an lr of 1e300 is Infinity once in float32, so the step makes NaN/±Inf weights.
const dir = tempDir();
const data = path.join(dir, 'shapes');
const SMALL = [
  '--backbone', 'resnet18', '--min-size', '64', '--max-size', '64', '--trainable-backbone-layers', '0',
  '--rpn-batch-size-per-image', '32', '--box-batch-size-per-image', '16', '--warmup-iters', '0', '--no-eval',
];

beforeAll(async () => {
  await useBackend();
  await writeShapesDataset(data, { numImages: 2, imageSize: 64, minShapeSize: 16, maxShapeSize: 32, maxShapes: 2, seed: 3 });
});

describe('residual train with weights that turn non-finite at the end of an epoch', () => {
  const images = path.join(data, 'images');
  const ann = path.join(data, 'annotations.json');
  const train = (out: string, ...flags: string[]) =>
    runCli(['train', '--data', images, '--ann', ann, '--arch', 'fasterrcnn', '--out', out, '--batch-size', '2', '--epochs', '2', '--json', ...SMALL, ...flags]);
  const diverged = (epoch: number, tail: string) =>
    new RegExp(
      `^residual train: weights are not finite after epoch ${epoch}, iteration ${epoch} ` +
        `\\(model entry "[a-z0-9_.]+" holds (NaN|-?Infinity) at flat index \\d+\\); training stopped, ${tail}$`,
    );

  it('in the first epoch: stops with the divergence message, writes no checkpoint and exits 1', async () => {
    const out = path.join(dir, 'inf-lr');
    const { code, stdout, stderr } = await train(out, '--lr', '1e300');
    expect({ code, stdout }).toEqual({ code: 1, stdout: '' });
    const lines = stderr.trim().split('\n');
    expect(lines[lines.length - 1]).toMatch(diverged(1, 'no checkpoint was written'));
    expect(fs.existsSync(out) ? fs.readdirSync(out) : []).toEqual([]);
  }, 120000);

  it('in the second epoch: names the first epoch\'s checkpoint, which stays latest', async () => {
    const out = path.join(dir, 'inf-gamma');
    // lr 0.01 in epoch 1, then ×1e300 from epoch 2 on (multistep milestone 1).
    const { code, stderr } = await train(out, '--lr', '0.01', '--lr-steps', '1', '--lr-gamma', '1e300');
    expect(code).toBe(1);
    const first = path.join(out, 'epoch-0001');
    const lines = stderr.trim().split('\n');
    expect(lines[lines.length - 1]).toMatch(diverged(2, `the last good checkpoint is ${first} \\(continue with --resume and a lower --lr\\)`));
    expect(fs.readdirSync(out).sort()).toEqual(['epoch-0001', 'latest']);
    expect(fs.readFileSync(path.join(out, 'latest'), 'utf8')).toBe('epoch-0001\n');
  }, 120000);
});
