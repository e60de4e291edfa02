import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Generator, rleDecode } from '@residual/core';
import { saveSafetensors } from '@residual/core/node';
import { readImage } from '@residual/data';
import { expectAllClose, useBackend } from '@residual/test-utils';
import sharp from 'sharp';
import { DETECTORS } from '../src/arch-table.js';
import { runCli, tempDir } from './run-cli.js';

// A seeded, untrained ResNet-18 Faster R-CNN (3 classes) and Mask R-CNN (2 classes): their weights go to
// a temporary folder (≈110 MB each, not committed). Small images and 50 proposals keep predict quick.
const SMALL = ['--min-size', '64', '--max-size', '96', '--rpn-post-nms-top-n-test', '50'];
const MODEL = { minSize: 64, maxSize: 96, rpnPostNmsTopNTest: 50 };

interface Row {
  image_id: number;
  category_id: number;
  bbox: number[];
  score: number;
  segmentation?: { size: number[]; counts: string };
}

async function writeImage(file: string, width: number, height: number, seed: number): Promise<void> {
  const gen = new Generator(seed);
  const pixels = Buffer.alloc(width * height * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.floor(gen.random() * 90);
  for (let y = Math.floor(height / 4); y < Math.floor((3 * height) / 4); y++) {
    for (let x = Math.floor(width / 5); x < Math.floor(width / 2); x++) pixels.fill(230, (y * width + x) * 3, (y * width + x) * 3 + 3);
  }
  await sharp(pixels, { raw: { width, height, channels: 3 } }).png().toFile(file);
}

async function saveWeights(arch: 'fasterrcnn' | 'maskrcnn', numClasses: number, file: string): Promise<void> {
  const model = DETECTORS[arch]('resnet18', { numClasses, generator: new Generator(7), ...MODEL });
  const dict = model.stateDict();
  await saveSafetensors(file, dict);
  tf.dispose([...dict.values()]);
  model.dispose();
}

/**
 * What the library itself gives, unfused, for `files` (image ids 1, 2, … unless `imageIds`) with the
 * weights of `weights` (boxes → x,y,w,h by hand).
 */
async function expectedRows(weights: string, files: string[], categoryOf: (label: number) => number, imageIds = files.map((_, i) => i + 1)): Promise<Row[]> {
  const model = DETECTORS.fasterrcnn('resnet18', { numClasses: 3, ...MODEL });
  const { tensors } = await (await import('@residual/core/node')).loadSafetensors(weights);
  model.loadStateDict(tensors);
  tf.dispose([...tensors.values()]);
  const rows: Row[] = [];
  for (const [i, file] of files.entries()) {
    const image = await readImage(file);
    const [d] = await model.predict([image]);
    const [b, s, l] = [d.boxes.dataSync(), d.scores.dataSync(), d.labels.dataSync()];
    tf.dispose([image, d.boxes, d.scores, d.labels]);
    rows.push(...Array.from(s, (score, k) => ({
      image_id: imageIds[i],
      category_id: categoryOf(l[k]),
      bbox: [b[4 * k], b[4 * k + 1], b[4 * k + 2] - b[4 * k], b[4 * k + 3] - b[4 * k + 1]],
      score,
    })));
  }
  model.dispose();
  return rows;
}

/** The CLI runs the backbone fused (conv + FrozenBatchNorm + ReLU as one conv): the same rows as the plain library, numbers to float rounding. */
function expectRowsClose(rows: Row[], expected: Row[]): void {
  expect(rows.map((r) => [r.image_id, r.category_id])).toEqual(expected.map((r) => [r.image_id, r.category_id]));
  expectAllClose(rows.flatMap((r) => [...r.bbox, r.score]), expected.flatMap((r) => [...r.bbox, r.score]), { rtol: 1e-4, atol: 1e-4 });
}

describe('residual detect', () => {
  const dir = tempDir();
  const images = path.join(dir, 'images');
  const faster = path.join(dir, 'faster.safetensors');
  const mask = path.join(dir, 'mask.safetensors');
  const ann = path.join(dir, 'ann.json');

  beforeAll(async () => {
    await useBackend();
    fs.mkdirSync(images);
    await writeImage(path.join(images, 'b.png'), 80, 64, 1);
    await writeImage(path.join(images, 'a.png'), 64, 72, 2);
    await writeImage(path.join(images, 'c.png'), 70, 70, 3);
    fs.writeFileSync(path.join(images, 'notes.txt'), 'not an image');
    fs.writeFileSync(ann, JSON.stringify({
      images: [{ id: 30, file_name: 'c.png' }, { id: 7, file_name: 'sub/a.png' }, { id: 12, file_name: 'b.png' }],
      categories: [{ id: 9, name: 'nine' }, { id: 5, name: 'five' }],
      annotations: [],
    }));
    await saveWeights('fasterrcnn', 3, faster);
    await saveWeights('maskrcnn', 2, mask);
  }, 120000);

  it('writes COCO results with --ann\'s image and category ids, equal to the library\'s detections to float rounding', async () => {
    const out = path.join(dir, 'results.json');
    const { code, stdout, stderr } = await runCli(['detect', path.join(images, 'a.png'), '--arch', 'fasterrcnn', '--weights', faster, '--ann', ann, '--out', out, ...SMALL]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: expect.stringMatching(/^detect 1\/1 .*a\.png \d+ detections\n$/) });
    const rows = JSON.parse(fs.readFileSync(out, 'utf8')) as Row[];
    expect(stdout).toBe(`${rows.length} detections in 1 images → ${out}\n`);
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(Object.keys(r)).toEqual(['image_id', 'category_id', 'bbox', 'score']);
    // labels 1, 2 are the categories in ascending id order: 5 ("five"), 9 ("nine")
    const expected = await expectedRows(faster, [path.join(images, 'a.png')], (label) => [0, 5, 9][label], [7]);
    expectRowsClose(rows, expected);
  });

  it('runs every image of a folder fused, with the plain library\'s detections to float rounding, and leaks no tensor', async () => {
    const before = tf.memory();
    const { code, stdout } = await runCli(['detect', images, '--arch', 'fasterrcnn', '--weights', faster, '--quiet', ...SMALL]);
    expect(code).toBe(0);
    // The fusion's folded weights and the anchor generator's cached grids are all freed.
    expect({ numTensors: tf.memory().numTensors, numBytes: tf.memory().numBytes }).toEqual({ numTensors: before.numTensors, numBytes: before.numBytes });
    const expected = await expectedRows(faster, ['a.png', 'b.png', 'c.png'].map((f) => path.join(images, f)), (label) => label);
    expect(new Set(expected.map((r) => r.image_id))).toEqual(new Set([1, 2, 3]));
    expectRowsClose(JSON.parse(stdout) as Row[], expected);
  });

  it('numbers images 1, 2, … in path order without --ann and splits them with --shard (item k → shard k mod n)', async () => {
    const ids = async (shard: string): Promise<number[]> => {
      const { code, stdout } = await runCli(['detect', images, '--arch', 'fasterrcnn', '--weights', faster, '--shard', shard, '--score-threshold', '0.3', '--quiet', ...SMALL]);
      expect(code).toBe(0);
      return [...new Set((JSON.parse(stdout) as Row[]).map((r) => r.image_id))].sort();
    };
    expect(await ids('0/2')).toEqual([1, 3]); // a.png, c.png
    expect(await ids('1/2')).toEqual([2]); // b.png
  });

  it('draws annotated PNGs of each image\'s size into --draw', async () => {
    const draw = path.join(dir, 'drawn');
    const { code } = await runCli(['detect', path.join(images, 'b.png'), '--arch', 'fasterrcnn', '--weights', faster, '--draw', draw, '--draw-threshold', '0', '--quiet', ...SMALL]);
    expect(code).toBe(0);
    expect(fs.readdirSync(draw)).toEqual(['b.png']);
    const drawn = await sharp(path.join(draw, 'b.png')).raw().toBuffer({ resolveWithObject: true });
    expect([drawn.info.width, drawn.info.height, drawn.info.channels]).toEqual([80, 64, 3]);
    const original = await sharp(path.join(images, 'b.png')).raw().toBuffer();
    let changed = 0;
    for (let i = 0; i < original.length; i++) if (original[i] !== drawn.data[i]) changed++;
    expect(changed).toBeGreaterThan(100); // boxes and tags were drawn
  });

  it('adds a compressed RLE segmentation of the image size for maskrcnn', async () => {
    const { code, stdout } = await runCli(['detect', path.join(images, 'c.png'), '--arch', 'maskrcnn', '--weights', mask, '--quiet', '--score-threshold', '0.2', ...SMALL]);
    expect(code).toBe(0);
    const rows = JSON.parse(stdout) as Row[];
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      expect(Object.keys(r)).toEqual(['image_id', 'category_id', 'bbox', 'score', 'segmentation']);
      expect(r.segmentation?.size).toEqual([70, 70]);
      expect(rleDecode(r.segmentation as { size: [number, number]; counts: string }).length).toBe(70 * 70);
      expect(r.category_id).toBe(1);
      expect(r.score).toBeGreaterThan(0.2);
    }
  });

  it.each([
    [['--arch', 'maskrcnn'], (w: string) => `residual detect: --weights ${w} holds a fasterrcnn on resnet18, not a maskrcnn`],
    [['--arch', 'fasterrcnn', '--backbone', 'resnet50'], (w: string) => `residual detect: --weights ${w} holds a fasterrcnn on resnet18, not a fasterrcnn on resnet50`],
  ])('refuses weights of another architecture (%j) with exit code 1', async (flags, message) => {
    const { code, stderr } = await runCli(['detect', path.join(images, 'a.png'), '--weights', faster, ...flags]);
    expect({ code, stderr }).toEqual({ code: 1, stderr: `${message(faster)}\n` });
  });

  it('names a classifier file given as detector weights', async () => {
    const weights = path.join(dir, 'classifier.safetensors');
    const dict = { 'conv1.weight': tf.zeros([4, 3, 3, 3]), 'fc.weight': tf.zeros([2, 4]) };
    await saveSafetensors(weights, dict);
    tf.dispose(Object.values(dict));
    const { code, stderr } = await runCli(['detect', path.join(images, 'a.png'), '--arch', 'fasterrcnn', '--weights', weights]);
    expect(code).toBe(1);
    expect(stderr).toMatch(new RegExp(`^residual detect: --weights ${weights} is not a torchvision Faster/Mask R-CNN state dict \\(.+\\)\\n$`));
  });

  it('names missing and corrupt images, and an --ann that does not fit the weights', async () => {
    const missing = await runCli(['detect', path.join(images, 'nope.png'), '--arch', 'fasterrcnn', '--weights', faster]);
    expect(missing).toEqual({ code: 1, stdout: '', stderr: `residual detect: cannot read image ${path.join(images, 'nope.png')}: no such file or directory\n` });
    const corrupt = path.join(dir, 'corrupt.png');
    fs.writeFileSync(corrupt, fs.readFileSync(path.join(images, 'a.png')).subarray(0, 60));
    const bad = await runCli(['detect', corrupt, '--arch', 'fasterrcnn', '--weights', faster, '--quiet', ...SMALL]);
    expect(bad).toEqual({ code: 1, stdout: '', stderr: `residual detect: decodeImage: cannot decode ${corrupt}: corrupt, truncated or not an image\n` });
    const wrongAnn = await runCli(['detect', path.join(images, 'a.png'), '--arch', 'maskrcnn', '--weights', mask, '--ann', ann]);
    expect(wrongAnn.stderr).toBe(`residual detect: --ann ${ann}: has 2 categories, but the weights have 2 classes (background included: expected 1 categories)\n`);
    const notInAnn = path.join(dir, 'other.png');
    fs.copyFileSync(path.join(images, 'a.png'), notInAnn);
    const unknown = await runCli(['detect', notInAnn, '--arch', 'fasterrcnn', '--weights', faster, '--ann', ann]);
    expect(unknown.stderr).toBe(`residual detect: --ann ${ann} has no image with file_name other.png\n`);
  });

  it.each([
    [['a.png', '--arch', 'yolo', '--weights', 'w'], 'residual detect: --arch must be one of fasterrcnn, maskrcnn, got "yolo"'],
    [['a.png', '--arch', 'maskrcnn'], 'residual detect: missing required flag --weights'],
    [['a.png', '--arch', 'maskrcnn', '--weights', 'w', '--score-threshold', 'high'], 'residual detect: --score-threshold must be a number ≥ 0, got "high"'],
    [['a.png', '--arch', 'maskrcnn', '--weights', 'w', '--shard', '2/2'], 'residual detect: --shard must be i/n with 0 ≤ i < n, got "2/2"'],
    [['a.png', '--arch', 'maskrcnn', '--weights', 'w', '--label-map', 'coco'], 'residual detect: --label-map must be one of identity, got "coco"'],
    [['a.png', '--arch', 'maskrcnn', '--weights', 'w', '--min-size', '0'], 'residual detect: --min-size must be an integer ≥ 1, got "0"'],
    [['a.png', '--arch', 'maskrcnn', '--weights', 'w', '--backbone', 'vgg'], expect.stringMatching(/^residual detect: --backbone must be one of resnet18, .*, got "vgg"$/)],
  ])('%j → exit code 2: %s', async (argv, message) => {
    const { code, stderr } = await runCli(['detect', ...(argv as string[])]);
    expect(code).toBe(2);
    expect(stderr.split('\n')[0]).toEqual(message);
  });
});
