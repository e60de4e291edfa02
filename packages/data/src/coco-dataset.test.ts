import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ValueError, rleToString } from '@residual/core';
import { expectNoLeak, useBackend } from '@residual/test-utils';
import sharp from 'sharp';
import { CocoDataset } from './coco-dataset.js';
import { disposeSample } from './sample.js';

// A 4×6 RGB image with distinct bytes per pixel and channel.
const H = 4;
const W = 6;
const RGB = Uint8Array.from({ length: H * W * 3 }, (_, i) => (i * 7) % 256);

const categories = [
  { id: 5, name: 'five' },
  { id: 2, name: 'two' },
  { id: 9, name: 'nine' },
];
const crowdRle = { size: [H, W] as [number, number], counts: [0, 4, 20] }; // column 0 fully set
const annotations = [
  { id: 10, image_id: 1, category_id: 9, bbox: [1, 1, 2, 2], area: 4, iscrowd: 0, segmentation: [[1, 1, 3, 1, 3, 3, 1, 3]] },
  { id: 11, image_id: 1, category_id: 2, bbox: [4, 0, 5, 3], area: 6, segmentation: { size: [H, W], counts: [16, 3, 1, 3, 1] } },
  { id: 12, image_id: 1, category_id: 5, bbox: [6, 1, 0, 2], area: 0, segmentation: [[5, 1, 5, 1, 5, 3]] },
  { id: 13, image_id: 1, category_id: 5, bbox: [0, 0, 1, 4], area: 4, iscrowd: 1, segmentation: { size: [H, W], counts: rleToString(crowdRle) } },
  { id: 14, image_id: 1, category_id: 5, bbox: [7, 1, 2, 2], area: 4, segmentation: [[7, 1, 9, 1, 9, 3]] },
];

/** Matches a rejected ValueError by its exact message (its `cause` holds the underlying error). */
const valueError = (message: string) => ({ name: 'ValueError', message });

let dir: string;
let nextFile = 0;
beforeAll(async () => {
  await useBackend();
  dir = mkdtempSync(path.join(os.tmpdir(), 'residual-coco-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function writeJson(name: string, json: unknown): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, typeof json === 'string' ? json : JSON.stringify(json));
  return file;
}

async function dataset(images: { file_name: string; width?: number; height?: number }[], anns: unknown[] = [], options = {}) {
  const json = {
    images: images.map((im, i) => ({ id: i + 1, width: W, height: H, ...im })),
    annotations: anns,
    categories,
  };
  return CocoDataset.load(await writeJson(`ann-${nextFile++}.json`, json), dir, options);
}

function raw(data: Uint8Array | Uint16Array, channels: 1 | 2 | 3 | 4, w = W, h = H) {
  return sharp(data, { raw: { width: w, height: h, channels } });
}

describe('CocoDataset', () => {
  beforeAll(async () => {
    await raw(RGB, 3).png().toFile(path.join(dir, 'rgb.png'));
  });

  it('maps category ids to contiguous labels in ascending id order, and back', async () => {
    const ds = await dataset([{ file_name: 'rgb.png' }]);
    expect(ds.categories.map((c) => c.id)).toEqual([2, 5, 9]);
    expect([...ds.categoryIdToLabel]).toEqual([[2, 1], [5, 2], [9, 3]]);
    expect([...ds.labelToCategoryId]).toEqual([[1, 2], [2, 5], [3, 9]]);
    expect(ds.numClasses).toBe(4);
    expect(ds.length).toBe(1);
    expect(ds.imageInfo(0)).toEqual({ id: 1, file_name: 'rgb.png', width: W, height: H });
  });

  it('decodes the image to [H,W,3] float32 in [0,1] and builds exact boxes, labels, masks, iscrowd and area', async () => {
    const ds = await dataset([{ file_name: 'rgb.png' }], annotations);
    const s = await expectNoLeak(async () => {
      const s = await ds.get(0);
      expect(s.image.shape).toEqual([H, W, 3]);
      expect(s.image.dtype).toBe('float32');
      expect(Array.from(s.image.dataSync())).toEqual(Array.from(RGB, (v) => Math.fround(v / 255)));
      const t = s.target;
      // id 12 (zero width) and id 14 (outside the image once clamped) are skipped, as torchvision.
      expect(t.boxes.arraySync()).toEqual([[1, 1, 3, 3], [4, 0, 6, 3], [0, 0, 1, 4]]);
      expect(t.labels.dtype).toBe('int32');
      expect(t.labels.arraySync()).toEqual([3, 1, 2]);
      expect(t.iscrowd.arraySync()).toEqual([0, 0, 1]);
      expect(t.area.arraySync()).toEqual([4, 6, 4]);
      expect(t.imageId).toBe(1);
      expect(t.masks?.dtype).toBe('int32');
      expect(t.masks?.arraySync()).toEqual([
        [[0, 0, 0, 0, 0, 0], [0, 1, 1, 0, 0, 0], [0, 1, 1, 0, 0, 0], [0, 0, 0, 0, 0, 0]],
        [[0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 0]],
        [[1, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0]],
      ]);
      return s;
    });
    expect(s.image.isDisposed).toBe(true);
  });

  it('skips mask decoding with masks: false and then needs no segmentation', async () => {
    const anns = [{ id: 1, image_id: 1, category_id: 2, bbox: [0, 0, 2, 3] }];
    const ds = await dataset([{ file_name: 'rgb.png' }], anns, { masks: false });
    const s = await ds.get(0);
    expect(s.target.masks).toBeUndefined();
    expect(s.target.boxes.arraySync()).toEqual([[0, 0, 2, 3]]);
    expect(s.target.area.arraySync()).toEqual([6]); // no area, no segmentation: the box area
    disposeSample(s);
  });

  it('drops crowd annotations with includeCrowd: false', async () => {
    const ds = await dataset([{ file_name: 'rgb.png' }], annotations, { includeCrowd: false });
    const s = await ds.get(0);
    expect(s.target.labels.arraySync()).toEqual([3, 1]);
    disposeSample(s);
  });

  it('orders images by ascending id', async () => {
    const json = {
      images: [
        { id: 9, file_name: 'rgb.png', width: W, height: H },
        { id: 3, file_name: 'rgb.png', width: W, height: H },
      ],
      annotations: [],
      categories,
    };
    const ds = await CocoDataset.load(await writeJson('order.json', json), dir);
    expect([ds.imageInfo(0).id, ds.imageInfo(1).id]).toEqual([3, 9]);
    expect(() => ds.imageInfo(2)).toThrow(new ValueError('CocoDataset.imageInfo: index must be an integer in [0, 2), got 2'));
  });
});

describe('CocoDataset image formats', () => {
  async function image(file: string, width = W, height = H): Promise<number[]> {
    const ds = await dataset([{ file_name: file, width, height }]);
    const s = await ds.get(0);
    expect(s.image.shape).toEqual([height, width, 3]);
    const values = Array.from(s.image.dataSync());
    disposeSample(s);
    return values;
  }
  const expected = (bytes: ArrayLike<number>, scale = 255) => Array.from(bytes, (v) => Math.fround(v / scale));

  it('repeats a grey PNG over three channels', async () => {
    const grey = Uint8Array.from({ length: H * W }, (_, i) => i * 10);
    await raw(grey, 1).toColourspace('b-w').png().toFile(path.join(dir, 'grey.png'));
    expect(await image('grey.png')).toEqual(expected(Array.from(grey).flatMap((v) => [v, v, v])));
  });

  it('drops the alpha channel of an RGBA PNG without compositing', async () => {
    const rgba = Uint8Array.from({ length: H * W * 4 }, (_, i) => (i % 4 === 3 ? (i * 13) % 256 : (i * 5) % 256));
    await raw(rgba, 4).png().toFile(path.join(dir, 'alpha.png'));
    expect(await image('alpha.png')).toEqual(expected(rgba.filter((_, i) => i % 4 !== 3)));
  });

  it('scales a 16-bit PNG by 65535 and keeps its low bits', async () => {
    const deep = Uint16Array.from({ length: H * W * 3 }, (_, i) => i * 911 + 1);
    await raw(deep, 3).toColourspace('rgb16').png().toFile(path.join(dir, 'deep.png'));
    expect(await image('deep.png')).toEqual(expected(deep, 65535));
  });

  it('reads a lossless WebP exactly', async () => {
    await raw(RGB, 3).webp({ lossless: true }).toFile(path.join(dir, 'rgb.webp'));
    expect(await image('rgb.webp')).toEqual(expected(RGB));
  });

  it('reads a JPEG (lossy: a flat colour comes back within 1/255)', async () => {
    await raw(new Uint8Array(16 * 16 * 3).fill(200), 3, 16, 16).jpeg({ quality: 95 }).toFile(path.join(dir, 'flat.jpg'));
    const values = await image('flat.jpg', 16, 16);
    expect(Math.max(...values.map((v) => Math.abs(v - 200 / 255)))).toBeLessThanOrEqual(1 / 255 + 1e-7);
  });

  it('applies the EXIF orientation: a 4×2 JPEG tagged "rotate 90° CW" becomes 2 wide and 4 high', async () => {
    await raw(new Uint8Array(4 * 2 * 3).fill(90), 3, 4, 2).withMetadata({ orientation: 6 }).jpeg().toFile(path.join(dir, 'exif.jpg'));
    expect(await image('exif.jpg', 2, 4)).toHaveLength(24);
  });
});

describe('CocoDataset errors', () => {
  const png = () => path.join(dir, 'rgb.png');

  it('names the file for a corrupt image', async () => {
    await writeFile(path.join(dir, 'corrupt.png'), Buffer.from('not an image at all'));
    const ds = await dataset([{ file_name: 'corrupt.png' }]);
    await expect(ds.get(0)).rejects.toMatchObject(valueError(`CocoDataset.get: image id 1: decodeImage: cannot decode ${path.join(dir, 'corrupt.png')}: corrupt, truncated or not an image`));
  });

  it('names the file for a truncated PNG', async () => {
    const bytes = await readFile(png());
    await writeFile(path.join(dir, 'truncated.png'), bytes.subarray(0, bytes.length - 20));
    const ds = await dataset([{ file_name: 'truncated.png' }]);
    const before = tf.memory().numTensors;
    await expect(ds.get(0)).rejects.toMatchObject(valueError(`CocoDataset.get: image id 1: decodeImage: cannot decode ${path.join(dir, 'truncated.png')}: corrupt, truncated or not an image`));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('names the file for a missing image', async () => {
    const ds = await dataset([{ file_name: 'nope.png' }]);
    await expect(ds.get(0)).rejects.toMatchObject(valueError(`CocoDataset.get: image id 1: cannot read image ${path.join(dir, 'nope.png')}: no such file`));
  });

  it('rejects an image whose decoded size differs from the annotation file', async () => {
    const json = { images: [{ id: 4, file_name: 'rgb.png', width: 5, height: 4 }], annotations: [], categories };
    const file = await writeJson('size.json', json);
    const ds = await CocoDataset.load(file, dir);
    await expect(ds.get(0)).rejects.toMatchObject(valueError(`CocoDataset.get: image id 4: ${png()} decodes to height 4, width 6 but ${file} says height 4, width 5`));
  });

  it('rejects a missing or truncated annotation file', async () => {
    const missing = path.join(dir, 'missing.json');
    await expect(CocoDataset.load(missing, dir)).rejects.toMatchObject(valueError(`CocoDataset.load: cannot read ${missing}: no such file`));
    const text = JSON.stringify({ images: [], annotations: [], categories });
    const file = await writeJson('truncated.json', text.slice(0, text.length - 5));
    await expect(CocoDataset.load(file, dir)).rejects.toMatchObject(valueError(`CocoDataset.load: ${file} is not valid JSON (truncated or corrupt)`));
  });

  it.each([
    ['an unknown category', { category_id: 99 }, 'annotations[0] (id 3): category_id 99 is not in "categories"'],
    ['an unknown image', { image_id: 42 }, 'annotations[0] (id 3): image_id 42 is not in "images"'],
    ['a missing bbox', { bbox: undefined }, 'annotations[0] (id 3): missing field "bbox" (expected [x, y, width, height] (4 finite numbers))'],
    ['a missing segmentation', { segmentation: undefined }, 'annotations[0] (id 3): missing field "segmentation" (needed for masks; pass { masks: false } to skip masks)'],
    ['a bad iscrowd', { iscrowd: 2 }, 'annotations[0] (id 3): "iscrowd" must be 0 or 1, got 2'],
  ])('rejects %s naming the file and the annotation id', async (_what, change, message) => {
    const ann = { id: 3, image_id: 1, category_id: 2, bbox: [0, 0, 2, 2], segmentation: [[0, 0, 2, 0, 2, 2]], ...change };
    const file = await writeJson('bad.json', { images: [{ id: 1, file_name: 'rgb.png', width: W, height: H }], annotations: [ann], categories });
    await expect(CocoDataset.load(file, dir)).rejects.toMatchObject(valueError(`CocoDataset: ${file}: ${message}`));
  });

  it('rejects missing top-level arrays and image fields', async () => {
    const noCats = await writeJson('nocats.json', { images: [], annotations: [] });
    await expect(CocoDataset.load(noCats, dir)).rejects.toMatchObject(valueError(`CocoDataset: ${noCats}: missing "categories" array`));
    const noName = await writeJson('noname.json', { images: [{ id: 7, width: 4, height: 4 }], annotations: [], categories });
    await expect(CocoDataset.load(noName, dir)).rejects.toMatchObject(valueError(`CocoDataset: ${noName}: images[0] (id 7): missing field "file_name" (expected a string)`));
  });

  it('names the annotation whose segmentation is malformed', async () => {
    const anns = [{ id: 8, image_id: 1, category_id: 2, bbox: [0, 0, 2, 2], segmentation: { size: [H, W], counts: [1, 2] } }];
    const ds = await dataset([{ file_name: 'rgb.png' }], anns);
    const where = ds.source;
    await expect(ds.get(0)).rejects.toMatchObject(valueError(`CocoDataset.get: image id 1 (${where}): annotation id 8: annToRle: segmentation.counts must sum to h·w = 24 for size [4,6], got 3`));
  });
});
