import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ValueError } from '@residual/core';
import { useBackend } from '@residual/test-utils';
import { CocoDataset } from './coco-dataset.js';
import { disposeSample } from './sample.js';
import { ShapesDataset, writeShapesDataset } from './shapes-dataset.js';
import { renderShapesScene } from './shapes-scene.js';

let root: string;
beforeAll(async () => {
  await useBackend();
  root = mkdtempSync(path.join(os.tmpdir(), 'residual-shapes-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function hashFolder(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of ['annotations.json', ...(await readdir(path.join(dir, 'images'))).map((f) => `images/${f}`)]) {
    out[name] = createHash('sha256').update(await readFile(path.join(dir, name))).digest('hex');
  }
  return out;
}

const small = { numImages: 4, imageSize: 64, minShapeSize: 12, maxShapeSize: 28 };

describe('writeShapesDataset', () => {
  it('writes byte-identical files for the same seed and different files for another seed', async () => {
    await writeShapesDataset(path.join(root, 'a'), { ...small, seed: 1 });
    await writeShapesDataset(path.join(root, 'b'), { ...small, seed: 1 });
    await writeShapesDataset(path.join(root, 'c'), { ...small, seed: 2 });
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((d) => hashFolder(path.join(root, d))));
    expect(Object.keys(a)).toEqual(['annotations.json', 'images/000000.png', 'images/000001.png', 'images/000002.png', 'images/000003.png']);
    expect(b).toEqual(a);
    for (const name of Object.keys(a)) expect(c[name]).not.toBe(a[name]);
  });

  it('is a COCO folder CocoDataset reads back to exactly the in-memory samples', async () => {
    const files = await writeShapesDataset(path.join(root, 'coco'), { ...small, seed: 3 });
    const coco = await CocoDataset.load(files.annotationFile, files.imageDir);
    const mem = new ShapesDataset({ ...small, seed: 3 });
    expect(coco.length).toBe(4);
    expect(coco.categories.map((c) => c.name)).toEqual(['circle', 'square', 'triangle', 'star']);
    expect([...coco.categoryIdToLabel]).toEqual([...mem.categoryIdToLabel]);
    let instances = 0;
    for (let i = 0; i < coco.length; i++) {
      const [x, y] = [await coco.get(i), await mem.get(i)];
      expect(x.image.arraySync()).toEqual(y.image.arraySync());
      for (const key of ['boxes', 'labels', 'masks', 'iscrowd', 'area'] as const) {
        expect(x.target[key]?.arraySync()).toEqual(y.target[key]?.arraySync());
      }
      expect(x.target.imageId).toBe(y.target.imageId);
      instances += x.target.labels.shape[0];
      disposeSample(x);
      disposeSample(y);
    }
    expect(instances).toBe(files.numAnnotations);
    expect(instances).toBeGreaterThanOrEqual(4);
  });
});

describe('renderShapesScene', () => {
  const options = { numImages: 50, imageSize: [96, 128] as const, seed: 7, minShapes: 3, maxShapes: 6 };
  const scenes = Array.from({ length: 50 }, (_, i) => renderShapesScene(options, i));

  it('keeps every instance at least half visible, with masks that never overlap', () => {
    let occluded = 0;
    for (const s of scenes) {
      const cover = new Uint8Array(s.height * s.width);
      for (const inst of s.instances) {
        inst.mask.forEach((v, p) => (cover[p] += v));
        const area = inst.mask.reduce((a, v) => a + v, 0);
        expect(area).toBeGreaterThanOrEqual(0.5 * inst.fullArea);
        if (area < inst.fullArea) occluded++;
      }
      expect(Math.max(...cover)).toBeLessThanOrEqual(1);
    }
    expect(occluded).toBeGreaterThan(10); // occlusion does happen
  });

  it('draws every class, sizes within [minShapeSize, maxShapeSize] and the requested image size', () => {
    const classes = new Set<number>();
    for (const s of scenes) {
      expect([s.height, s.width]).toEqual([96, 128]);
      expect(s.pixels.length).toBe(96 * 128 * 3);
      for (const inst of s.instances) {
        classes.add(inst.categoryId);
        let [x0, x1, y0, y1] = [Infinity, -1, Infinity, -1];
        inst.mask.forEach((v, p) => {
          if (!v) return;
          const [y, x] = [Math.floor(p / s.width), p % s.width];
          [x0, x1, y0, y1] = [Math.min(x0, x), Math.max(x1, x), Math.min(y0, y), Math.max(y1, y)];
        });
        expect(Math.max(x1 - x0, y1 - y0) + 1).toBeLessThanOrEqual(65);
      }
    }
    expect([...classes].sort()).toEqual([1, 2, 3, 4]);
  });

  it('colours an instance differently from the background around it', () => {
    const s = scenes[0];
    const inst = s.instances[s.instances.length - 1];
    const mean = (inside: boolean) => {
      const acc = [0, 0, 0];
      let n = 0;
      inst.mask.forEach((v, p) => {
        if (Boolean(v) !== inside) return;
        for (let c = 0; c < 3; c++) acc[c] += s.pixels[p * 3 + c];
        n++;
      });
      return acc.map((a) => a / n);
    };
    const [a, b] = [mean(true), mean(false)];
    expect(Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2])).toBeGreaterThan(40);
  });

  it('rejects inconsistent options', () => {
    expect(() => new ShapesDataset({ numImages: 0 })).toThrow(new ValueError('ShapesDataset: numImages must be a positive integer, got 0'));
    expect(() => new ShapesDataset({ numImages: 1, imageSize: 32 })).toThrow(
      new ValueError('ShapesDataset: need 4 ≤ minShapeSize ≤ maxShapeSize ≤ min(height, width) = 32, got 16 and 64'),
    );
  });

  it('returns tensors the caller owns', async () => {
    const before = tf.memory().numTensors;
    const s = await new ShapesDataset({ numImages: 1, seed: 1 }).get(0);
    expect(s.image.shape).toEqual([128, 128, 3]);
    expect(s.target.masks?.shape[0]).toBe(s.target.boxes.shape[0]);
    disposeSample(s);
    expect(tf.memory().numTensors).toBe(before);
  });
});
