import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '@residual/test-utils';
import sharp from 'sharp';
import { CocoDataset } from './coco-dataset.js';
import { DataLoader } from './data-loader.js';
import { disposeSample } from './sample.js';

// Issue 10's bad-data suite: every kind of broken COCO input ends in a ValueError that names the
// file and the entry, or in the skip torchvision's detection reference makes (so training goes on
// where torchvision's would). Sizes are tiny: 6×4 images.
const H = 4;
const W = 6;
const categories = [{ id: 1, name: 'a' }, { id: 2, name: 'b' }];
const valueError = (message: string) => ({ name: 'ValueError', message });

let dir: string;
let n = 0;
beforeAll(async () => {
  await useBackend();
  dir = mkdtempSync(path.join(os.tmpdir(), 'residual-bad-coco-'));
  await sharp(new Uint8Array(H * W * 3).fill(128), { raw: { width: W, height: H, channels: 3 } }).png().toFile(path.join(dir, 'ok.png'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function writeJson(json: unknown): Promise<string> {
  const file = path.join(dir, `ann-${n++}.json`);
  await writeFile(file, JSON.stringify(json));
  return file;
}

const image = (id: number, extra: object = {}) => ({ id, file_name: 'ok.png', width: W, height: H, ...extra });
const ann = (id: number, bbox: number[], extra: object = {}) => ({ id, image_id: 1, category_id: 1, bbox, ...extra });

describe('CocoDataset.load on a malformed annotation file', () => {
  it.each([
    ['a JSON array', [], 'expected a JSON object, got an array'],
    ['no "images"', { annotations: [], categories }, 'missing "images" array'],
    ['"annotations" that is an object', { images: [], annotations: {}, categories }, 'missing "annotations" array'],
    ['an image that is not an object', { images: [3], annotations: [], categories }, 'images[0]: expected an object, got number'],
    ['an image without id', { images: [{ file_name: 'ok.png', width: W, height: H }], annotations: [], categories }, 'images[0]: missing field "id" (expected an integer)'],
    ['an image with a fractional id', { images: [image(1.5)], annotations: [], categories }, 'images[0]: "id" must be an integer, got 1.5'],
    ['a duplicate image id', { images: [image(1), image(1)], annotations: [], categories }, 'images[1] (id 1): duplicate image id'],
    ['an image without width', { images: [{ id: 4, file_name: 'ok.png', height: H }], annotations: [], categories }, 'images[0] (id 4): missing field "width" (expected an integer)'],
    ['an image of height 0', { images: [image(4, { height: 0 })], annotations: [], categories }, 'images[0] (id 4): "height" must be a positive integer, got 0'],
    ['a file_name that is a number', { images: [image(4, { file_name: 7 })], annotations: [], categories }, 'images[0] (id 4): "file_name" must be a string, got 7'],
    ['a category without name', { images: [], annotations: [], categories: [{ id: 3 }] }, 'categories[0] (id 3): missing field "name" (expected a string)'],
    ['a duplicate category id', { images: [], annotations: [], categories: [...categories, { id: 2, name: 'c' }] }, 'categories[2] (id 2): duplicate category id'],
    ['an annotation without id', { images: [image(1)], annotations: [{ image_id: 1, category_id: 1, bbox: [0, 0, 1, 1] }], categories }, 'annotations[0]: missing field "id" (expected a number)'],
    ['an annotation without image_id', { images: [image(1)], annotations: [{ id: 5, category_id: 1, bbox: [0, 0, 1, 1] }], categories }, 'annotations[0] (id 5): missing field "image_id" (expected an integer)'],
    ['an image_id given as a string', { images: [image(1)], annotations: [ann(5, [0, 0, 1, 1], { image_id: '1' })], categories }, 'annotations[0] (id 5): "image_id" must be an integer, got "1"'],
    ['an unknown image id', { images: [image(1)], annotations: [ann(5, [0, 0, 1, 1], { image_id: 2 })], categories }, 'annotations[0] (id 5): image_id 2 is not in "images"'],
    ['an unknown category id', { images: [image(1)], annotations: [ann(5, [0, 0, 1, 1], { category_id: 0 })], categories }, 'annotations[0] (id 5): category_id 0 is not in "categories"'],
    ['a bbox of three numbers', { images: [image(1)], annotations: [ann(5, [0, 0, 1])], categories }, 'annotations[0] (id 5): "bbox" must be [x, y, width, height] (4 finite numbers), got [0,0,1]'],
    ['a bbox with a string', { images: [image(1)], annotations: [ann(5, [0, 0, '1', 1] as number[])], categories }, 'annotations[0] (id 5): "bbox" must be [x, y, width, height] (4 finite numbers), got [0,0,"1",1]'],
    ['a bbox with null (NaN in the writer)', { images: [image(1)], annotations: [ann(5, [0, 0, null, 1] as unknown as number[])], categories }, 'annotations[0] (id 5): "bbox" must be [x, y, width, height] (4 finite numbers), got [0,0,null,1]'],
    ['a negative area', { images: [image(1)], annotations: [ann(5, [0, 0, 1, 1], { area: -1 })], categories }, 'annotations[0] (id 5): "area" must be a non-negative number, got -1'],
    ['a segmentation that is a string', { images: [image(1)], annotations: [ann(5, [0, 0, 1, 1], { segmentation: 'x' })], categories }, 'annotations[0] (id 5): "segmentation" must be a polygon list or an RLE { size, counts }, got string'],
  ])('rejects %s, naming the file and the entry', async (_what, json, message) => {
    const file = await writeJson(json);
    await expect(CocoDataset.load(file, dir)).rejects.toMatchObject(valueError(`CocoDataset: ${file}: ${message}`));
  });

  it('rejects an empty annotation file as invalid JSON', async () => {
    const file = path.join(dir, 'empty.json');
    await writeFile(file, '');
    await expect(CocoDataset.load(file, dir)).rejects.toMatchObject(valueError(`CocoDataset.load: ${file} is not valid JSON (truncated or corrupt)`));
  });
});

describe('CocoDataset.get on a malformed segmentation', () => {
  it.each([
    ['an RLE of another image size', { size: [8, 8], counts: [64] }, 'annToRle: segmentation.size is [8,8], expected [4,6] (the image size)'],
    ['a polygon with an odd number of coordinates', [[0, 0, 2, 0, 2]], 'polygonsToRle: polygons[0] must be [x0, y0, x1, y1, …] (an even number ≥ 2 of finite numbers), got 5 values'],
    ['a polygon with a string coordinate', [[0, 0, 2, 0, '2', 2]], 'polygonsToRle: polygons[0] must be [x0, y0, x1, y1, …] (an even number ≥ 2 of finite numbers), got 6 values (not all finite)'],
    ['RLE counts that are neither a list nor a string', { size: [H, W], counts: 5 }, 'annToRle: segmentation.counts must be a number[] or a string, got number'],
  ])('rejects %s, naming the image, the file and the annotation', async (_what, segmentation, message) => {
    const file = await writeJson({ images: [image(1)], annotations: [ann(5, [0, 0, 2, 2], { segmentation })], categories });
    const ds = await CocoDataset.load(file, dir);
    const before = tf.memory().numTensors;
    await expect(ds.get(0)).rejects.toMatchObject(valueError(`CocoDataset.get: image id 1 (${file}): annotation id 5: ${message}`));
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('CocoDataset boxes that torchvision skips', () => {
  it('skips zero-size, negative-size and outside boxes after clamping; keeps thin and partly outside ones, clamped', async () => {
    const anns = [
      ann(1, [1, 1, 2, 2]), // kept
      ann(2, [1, 1, 0, 2]), // zero width: skipped
      ann(3, [1, 1, 2, 0]), // zero height: skipped
      ann(4, [3, 2, -2, 1]), // negative width: x2 = 1 < x1 = 3, skipped (torchvision: keep = x2 > x1)
      ann(5, [1, 3, 2, -1]), // negative height: skipped
      ann(6, [7, 0, 3, 3]), // right of the image: clamped to x1 = x2 = 6, skipped
      ann(7, [-2, -1, 4, 3]), // partly outside: clamped to [0, 0, 2, 2]
      ann(8, [2, 1, 0.25, 2]), // a quarter pixel wide: kept
      ann(9, [4, 0, 1e9, 1e9]), // huge: clamped to the image
    ];
    const ds = await CocoDataset.load(await writeJson({ images: [image(1)], annotations: anns, categories }), dir, { masks: false });
    const s = await ds.get(0);
    expect(s.target.boxes.arraySync()).toEqual([[1, 1, 3, 3], [0, 0, 2, 2], [2, 1, 2.25, 3], [4, 0, 6, 4]]);
    expect(s.target.area.arraySync()).toEqual([4, 12, 0.5, 1e18].map(Math.fround));
    expect(s.target.labels.arraySync()).toEqual([1, 1, 1, 1]);
    disposeSample(s);
  });
});

describe('CocoDataset images without annotations', () => {
  const json = {
    images: [image(1), image(2), image(3), image(4)],
    annotations: [
      { ...ann(1, [0, 0, 2, 2]), image_id: 2 }, // image 2: one real box
      { ...ann(2, [0, 0, 1, 4]), image_id: 3 }, // image 3: only boxes ≤ 1 pixel wide or high
      { ...ann(3, [0, 0, 5, 0.5]), image_id: 3 },
      { ...ann(4, [0, 0, 3, 3]), image_id: 4, iscrowd: 1 }, // image 4: only a crowd box (torchvision counts it)
    ],
    categories,
  };

  it('keeps them by default with an empty target: boxes [0,4], labels, iscrowd, area [0] and masks [0,H,W]', async () => {
    const file = await writeJson({ ...json, annotations: json.annotations.map((a) => ({ ...a, segmentation: [[0, 0, 1, 0, 1, 1]] })) });
    const ds = await CocoDataset.load(file, dir);
    expect(ds.length).toBe(4);
    const s = await ds.get(0);
    const t = s.target;
    expect([t.boxes.shape, t.labels.shape, t.iscrowd.shape, t.area.shape, t.masks?.shape]).toEqual([[0, 4], [0], [0], [0], [0, H, W]]);
    expect([t.boxes.dtype, t.labels.dtype, t.masks?.dtype]).toEqual(['float32', 'int32', 'int32']);
    disposeSample(s);
  });

  it('leaves them out with removeImagesWithoutAnnotations, as torchvision\'s training set: no annotation, or all ≤ 1 pixel', async () => {
    const ds = await CocoDataset.load(await writeJson(json), dir, { masks: false, removeImagesWithoutAnnotations: true });
    expect([ds.length, ds.imageInfo(0).id, ds.imageInfo(1).id]).toEqual([2, 2, 4]);
    const s = await ds.get(1); // image 4's crowd box is kept, marked by iscrowd
    expect(s.target.iscrowd.arraySync()).toEqual([1]);
    disposeSample(s);
  });
});

describe('CocoDataset image files', () => {
  async function decoded(file: string, width = W, height = H): Promise<number[]> {
    const ds = await CocoDataset.load(await writeJson({ images: [image(1, { file_name: file, width, height })], annotations: [], categories }), dir);
    const s = await ds.get(0);
    expect(s.image.shape).toEqual([height, width, 3]);
    const values = Array.from(s.image.dataSync());
    disposeSample(s);
    return values;
  }
  async function rejected(file: string): Promise<void> {
    const ds = await CocoDataset.load(await writeJson({ images: [image(1, { file_name: file })], annotations: [], categories }), dir);
    const before = tf.memory().numTensors;
    await expect(ds.get(0)).rejects.toMatchObject(
      valueError(`CocoDataset.get: image id 1: decodeImage: cannot decode ${path.join(dir, file)}: corrupt, truncated or not an image`),
    );
    expect(tf.memory().numTensors).toBe(before);
  }
  const raw = (data: Uint8Array | Uint16Array, channels: 1 | 2 | 3 | 4, w = W, h = H) => sharp(data, { raw: { width: w, height: h, channels } });

  it('repeats grey over three channels and drops alpha of a grey+alpha PNG', async () => {
    const la = Uint8Array.from({ length: H * W * 2 }, (_, i) => (i % 2 === 0 ? i * 5 : 255 - i));
    await raw(la, 2).toColourspace('b-w').png().toFile(path.join(dir, 'grey-alpha.png'));
    expect((await sharp(path.join(dir, 'grey-alpha.png')).metadata()).channels).toBe(2);
    const grey = la.filter((_, i) => i % 2 === 0);
    expect(await decoded('grey-alpha.png')).toEqual(Array.from(grey).flatMap((v) => [v, v, v].map((x) => Math.fround(x / 255))));
  });

  it('scales a 16-bit grey PNG by 65535 and repeats it over three channels', async () => {
    const deep = Uint16Array.from({ length: H * W }, (_, i) => i * 2741 + 7);
    await raw(deep, 1).toColourspace('grey16').png().toFile(path.join(dir, 'grey16.png'));
    expect((await sharp(path.join(dir, 'grey16.png')).metadata()).depth).toBe('ushort');
    expect(await decoded('grey16.png')).toEqual(Array.from(deep).flatMap((v) => [v, v, v].map((x) => Math.fround(x / 65535))));
  });

  it('converts a CMYK JPEG to RGB with libvips colour management', async () => {
    // Orange (200, 120, 40) stored as CMYK decodes to (199, 118, 30) here; PIL's convert('RGB'),
    // torchvision's path, gives (203, 108, 14) with its naive formula. Both are lossy.
    const px = Uint8Array.from({ length: 16 * 16 * 3 }, (_, i) => [200, 120, 40][i % 3]);
    await raw(px, 3, 16, 16).toColourspace('cmyk').jpeg({ quality: 100 }).toFile(path.join(dir, 'cmyk.jpg'));
    expect((await sharp(path.join(dir, 'cmyk.jpg')).metadata()).space).toBe('cmyk');
    const values = await decoded('cmyk.jpg', 16, 16);
    expect(values.slice(0, 3).map((v) => Math.round(v * 255))).toEqual([199, 118, 30]);
  });

  it('rejects an empty file, a truncated JPEG and a PNG with a corrupted data chunk, naming the file and leaking nothing', async () => {
    await writeFile(path.join(dir, 'empty.png'), new Uint8Array(0));
    await rejected('empty.png');
    const jpeg = await raw(Uint8Array.from({ length: 16 * 16 * 3 }, (_, i) => i % 251), 3, 16, 16).jpeg().toBuffer();
    await writeFile(path.join(dir, 'truncated.jpg'), jpeg.subarray(0, jpeg.length - 40));
    const ds = await CocoDataset.load(await writeJson({ images: [image(1, { file_name: 'truncated.jpg', width: 16, height: 16 })], annotations: [], categories }), dir);
    await expect(ds.get(0)).rejects.toMatchObject(
      valueError(`CocoDataset.get: image id 1: decodeImage: cannot decode ${path.join(dir, 'truncated.jpg')}: corrupt, truncated or not an image`),
    );
    const png = Buffer.from(await readFile(path.join(dir, 'ok.png')));
    const idat = png.indexOf('IDAT');
    png[idat + 8] ^= 0xff; // inside the compressed data: the chunk's CRC no longer matches
    await writeFile(path.join(dir, 'bad-crc.png'), png);
    await rejected('bad-crc.png');
  });

  it('stops a DataLoader epoch at a corrupt image with its error, after disposing what was prefetched', async () => {
    await writeFile(path.join(dir, 'half.png'), (await readFile(path.join(dir, 'ok.png'))).subarray(0, 40));
    const images = [image(1), image(2), image(3, { file_name: 'half.png' }), image(4)];
    const ds = await CocoDataset.load(await writeJson({ images, annotations: [], categories }), dir);
    const before = tf.memory().numTensors;
    const seen: number[] = [];
    const epoch = async (): Promise<void> => {
      for await (const batch of new DataLoader(ds, { batchSize: 1, prefetch: 3 })) {
        seen.push(batch[0].target.imageId);
        batch.forEach(disposeSample);
      }
    };
    await expect(epoch()).rejects.toMatchObject(
      valueError(`CocoDataset.get: image id 3: decodeImage: cannot decode ${path.join(dir, 'half.png')}: corrupt, truncated or not an image`),
    );
    expect(seen).toEqual([1, 2]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
