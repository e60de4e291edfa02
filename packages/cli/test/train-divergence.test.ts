import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeShapesDataset } from '@residual/data';
import { useBackend } from '@residual/test-utils';
import { runCli, tempDir } from './run-cli.js';

// Issue 10, from outside: a run whose weights turn NaN/Infinity at the last step of an epoch (its
// loss was still finite) must not write that epoch's checkpoint. Two 64-px images in one batch make
// one iteration per epoch; --lr 1e300 is Infinity once in float32, so the step makes NaN/±Inf.
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
  it('refuses to write the checkpoint, says which tensor and that there is no earlier one, and exits 1', async () => {
    const out = path.join(dir, 'inf-lr');
    const images = path.join(data, 'images');
    const ann = path.join(data, 'annotations.json');
    const { code, stdout, stderr } = await runCli(['train', '--data', images, '--ann', ann, '--arch', 'fasterrcnn', '--out', out, '--batch-size', '2', '--epochs', '2', '--lr', '1e300', '--json', ...SMALL]);
    expect({ code, stdout }).toEqual({ code: 1, stdout: '' });
    const lines = stderr.trim().split('\n');
    expect(lines[lines.length - 1]).toMatch(
      new RegExp(`^residual train: saveCheckpoint: model entry "[a-z0-9_.]+" holds (NaN|-?Infinity) at flat index \\d+; ${path.join(out, 'epoch-0001')} was not written and there is no earlier checkpoint$`),
    );
    expect(fs.existsSync(out) ? fs.readdirSync(out) : []).toEqual([]);
  }, 120000);
});
