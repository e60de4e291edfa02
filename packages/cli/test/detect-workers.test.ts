import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Generator } from '@residual/core';
import { saveSafetensors } from '@residual/core/node';
import { useBackend } from '@residual/test-utils';
import sharp from 'sharp';
import { DETECTORS } from '../src/arch-table.js';
import { forEachInOrder, threadsPerWorker } from '../src/detect-pool.js';
import { runCli, tempDir } from './run-cli.js';

// The pool's workers run the package's build (dist/detect-worker.js): `nx test` builds it first.
const SMALL = ['--min-size', '64', '--max-size', '96', '--rpn-post-nms-top-n-test', '50', '--score-threshold', '0.2', '--quiet'];

async function writeImage(file: string, width: number, height: number, seed: number): Promise<void> {
  const gen = new Generator(seed);
  const pixels = Buffer.alloc(width * height * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.floor(gen.random() * 255);
  await sharp(pixels, { raw: { width, height, channels: 3 } }).png().toFile(file);
}

describe('residual detect --workers', () => {
  const dir = tempDir();
  const images = path.join(dir, 'images');
  const weights = path.join(dir, 'mask.safetensors');

  beforeAll(async () => {
    await useBackend();
    fs.mkdirSync(images);
    // Heights 64 and 96 stay unpadded under the transform (min size 64, sizes divisible by 32). MultiScaleRoIAlign
    // infers its level scales from the first image it sees, as torchvision does; with padding of a third or more
    // of the height (tiny images only) those scales, hence the detections, would depend on which image came first.
    const sizes: Array<[string, number, number]> = [['c.png', 64, 64], ['a.png', 80, 64], ['d.png', 64, 96], ['b.png', 96, 64]];
    for (const [k, [name, width, height]] of sizes.entries()) await writeImage(path.join(images, name), width, height, k + 1);
    const model = DETECTORS.maskrcnn('resnet18', { numClasses: 3, generator: new Generator(11), minSize: 64, maxSize: 96 });
    const dict = model.stateDict();
    await saveSafetensors(weights, dict);
    tf.dispose([...dict.values()]);
    model.dispose();
  }, 120000);

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true })); // the weights take 120 MB

  let oneThread = '';

  it('gives the same results, masks included, in the same order as one thread', async () => {
    const one = await runCli(['detect', images, '--arch', 'maskrcnn', '--weights', weights, ...SMALL]);
    const two = await runCli(['detect', images, '--arch', 'maskrcnn', '--weights', weights, '--workers', '2', ...SMALL]);
    expect(one.code).toBe(0);
    expect(two).toEqual({ code: 0, stdout: one.stdout, stderr: '' });
    const rows = JSON.parse(one.stdout) as Array<{ image_id: number; segmentation?: unknown }>;
    expect(new Set(rows.map((r) => r.image_id))).toEqual(new Set([1, 2, 3, 4]));
    expect(rows.every((r) => r.segmentation !== undefined)).toBe(true);
    oneThread = one.stdout;
  }, 600000);

  // Two more worker start-ups (minutes on two busy cores): only with RESIDUAL_TEST_LARGE=1.
  (process.env.RESIDUAL_TEST_LARGE === '1' ? it : it.skip)("combines with --shard: a shard's rows in two workers are that shard's rows of the whole run", async () => {
    const two = await runCli(['detect', images, '--arch', 'maskrcnn', '--weights', weights, '--shard', '1/2', '--workers', '2', ...SMALL]);
    expect(two.code).toBe(0);
    const whole = JSON.parse(oneThread) as Array<{ image_id: number }>;
    expect(JSON.parse(two.stdout)).toEqual(whole.filter((r) => r.image_id === 2 || r.image_id === 4));
  }, 600000);

  it("reports a worker's failure as one thread reports it (exit 1, the same message)", async () => {
    const classifier = path.join(dir, 'classifier.safetensors');
    const dict = { 'conv1.weight': tf.zeros([4, 3, 3, 3]), 'fc.weight': tf.zeros([2, 4]) };
    await saveSafetensors(classifier, dict);
    tf.dispose(Object.values(dict));
    const args = ['detect', images, '--arch', 'maskrcnn', '--weights', classifier, ...SMALL];
    const one = await runCli(args);
    const two = await runCli([...args, '--workers', '2']);
    expect(one.code).toBe(1);
    expect(one.stderr).toMatch(/^residual detect: --weights .* is not a torchvision Faster\/Mask R-CNN state dict \(.+\)\n$/);
    expect(two).toEqual(one);
  }, 120000);

  it('refuses a worker count below 1', async () => {
    const run = await runCli(['detect', images, '--arch', 'maskrcnn', '--weights', weights, '--workers', '0']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe("residual detect: --workers must be an integer ≥ 1, got \"0\"\nRun 'residual detect --help' for usage.\n");
  });
});

describe('forEachInOrder', () => {
  it('handles results in input order while up to `lookahead` items run', async () => {
    const delays = [30, 5, 20, 1, 10];
    let running = 0;
    let most = 0;
    const handled: number[] = [];
    await forEachInOrder(delays, async (ms) => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, ms));
      running--;
      return ms;
    }, 2, async (ms, i) => {
      handled.push(i);
      expect(ms).toBe(delays[i]);
    });
    expect(handled).toEqual([0, 1, 2, 3, 4]);
    expect(most).toBe(2);
  });

  it('starts each item only after the previous one was handled with lookahead 1', async () => {
    const log: string[] = [];
    await forEachInOrder(['a', 'b'], async (x) => (log.push(`start ${x}`), x), 1, async (x) => void log.push(`handle ${x}`));
    expect(log).toEqual(['start a', 'handle a', 'start b', 'handle b']);
  });
});

describe('threadsPerWorker', () => {
  it('shares the cores among the workers, at least one thread each', () => {
    expect(threadsPerWorker(1, {})).toBe(os.availableParallelism());
    expect(threadsPerWorker(2, {})).toBe(Math.max(1, Math.floor(os.availableParallelism() / 2)));
    expect(threadsPerWorker(1000, {})).toBe(1);
  });

  it("leaves the count to core when RESIDUAL_WASM_THREADS is set (the user's choice)", () => {
    expect(threadsPerWorker(2, { RESIDUAL_WASM_THREADS: '3' })).toBeUndefined();
  });
});
