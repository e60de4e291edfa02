import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ValueError, compressRle, maskToRle, rleArea, rleToBbox } from '@residual/core';
import sharp from 'sharp';
import type { CocoAnnotation, CocoDatasetJson } from './coco-json.js';
import type { Sample } from './sample.js';
import { SHAPE_CATEGORIES, renderShapesScene, resolveShapesOptions, type ShapesOptions, type ShapesScene } from './shapes-scene.js';

/**
 * The seeded synthetic instance-segmentation set (circles, squares, triangles, stars; see
 * `renderShapesScene`), rendered in memory on demand. Labels equal the category ids 1..4
 * (0 is the background), so `numClasses` is 5. `get(i)` gives the same sample as a
 * `CocoDataset` reading the folder {@link writeShapesDataset} writes with the same options.
 */
export class ShapesDataset {
  /** The categories, ids 1..4 in ascending order. */
  readonly categories = SHAPE_CATEGORIES;
  /** Category id → label (the identity on 1..4). */
  readonly categoryIdToLabel: ReadonlyMap<number, number> = new Map(SHAPE_CATEGORIES.map((c) => [c.id, c.id]));
  /** Label → category id (the identity on 1..4). */
  readonly labelToCategoryId: ReadonlyMap<number, number> = new Map(SHAPE_CATEGORIES.map((c) => [c.id, c.id]));
  private readonly options: ShapesOptions;

  constructor(options: ShapesOptions) {
    resolveShapesOptions(options);
    this.options = { ...options };
  }

  /** Number of images. */
  get length(): number {
    return this.options.numImages;
  }

  /** Number of classes including the background: 5. */
  get numClasses(): number {
    return SHAPE_CATEGORIES.length + 1;
  }

  /** The raw scene of image i: RGB bytes and the visible mask of each instance. */
  scene(i: number): ShapesScene {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) {
      throw new ValueError(`ShapesDataset.scene: index must be an integer in [0, ${this.length}), got ${i}`);
    }
    return renderShapesScene(this.options, i);
  }

  /**
   * Image i as a sample: image [H,W,3] float32 in [0,1], boxes from the visible masks (pixel
   * extents, xyxy), masks [K,H,W] int32, iscrowd 0, area = visible pixels, imageId i + 1.
   * The caller owns every tensor.
   */
  async get(i: number): Promise<Sample> {
    const scene = this.scene(i);
    const { height: h, width: w } = scene;
    const anns = sceneAnnotations(scene, i + 1, 1);
    const k = anns.length;
    const masks = new Int32Array(k * h * w);
    scene.instances.forEach((inst, j) => masks.set(inst.mask, j * h * w));
    const image = new Float32Array(scene.pixels.length);
    for (let p = 0; p < image.length; p++) image[p] = scene.pixels[p] / 255;
    return {
      image: tf.tensor3d(image, [h, w, 3], 'float32'),
      target: {
        boxes: tf.tensor2d(anns.flatMap((a) => { const [x, y, bw, bh] = a.bbox; return [x, y, x + bw, y + bh]; }), [k, 4], 'float32'),
        labels: tf.tensor1d(anns.map((a) => a.category_id), 'int32'),
        masks: tf.tensor3d(masks, [k, h, w], 'int32'),
        iscrowd: tf.tensor1d(new Int32Array(k), 'int32'),
        area: tf.tensor1d(anns.map((a) => a.area as number), 'float32'),
        imageId: i + 1,
      },
    };
  }
}

/** COCO annotations of a scene: compressed RLE of each visible mask, its bbox and area (pycocotools' rules via core). */
function sceneAnnotations(scene: ShapesScene, imageId: number, firstId: number): CocoAnnotation[] {
  return scene.instances.map((inst, j) => {
    const rle = maskToRle(inst.mask, [scene.height, scene.width]);
    return {
      id: firstId + j,
      image_id: imageId,
      category_id: inst.categoryId,
      bbox: rleToBbox(rle),
      area: rleArea(rle),
      iscrowd: 0,
      segmentation: compressRle(rle),
    };
  });
}

/** Where {@link writeShapesDataset} put the set. */
export interface ShapesDatasetFiles {
  /** `<dir>/annotations.json`. */
  annotationFile: string;
  /** `<dir>/images`, holding `000000.png`, `000001.png`, … */
  imageDir: string;
  numImages: number;
  numAnnotations: number;
}

/**
 * Writes the shapes set as a COCO folder: `images/NNNNNN.png` (8-bit RGB, written by sharp) and
 * `annotations.json` (image ids from 1, annotation ids from 1, RLE segmentations with compressed
 * counts, bbox [x,y,w,h], area, iscrowd 0, categories 1..4). The same options give byte-identical
 * files. Overwrites files of the same names; creates `dir` if needed.
 */
export async function writeShapesDataset(dir: string, options: ShapesOptions): Promise<ShapesDatasetFiles> {
  const o = resolveShapesOptions(options);
  const imageDir = path.join(dir, 'images');
  await mkdir(imageDir, { recursive: true });
  const json: CocoDatasetJson = {
    info: { description: 'residual synthetic shapes', seed: o.seed, version: '1' },
    images: [],
    annotations: [],
    categories: SHAPE_CATEGORIES.map((c) => ({ ...c })),
  };
  for (let i = 0; i < o.numImages; i++) {
    const scene = renderShapesScene(options, i);
    const fileName = `${String(i).padStart(6, '0')}.png`;
    const png = await sharp(scene.pixels, { raw: { width: scene.width, height: scene.height, channels: 3 } })
      .png({ compressionLevel: 6, adaptiveFiltering: false })
      .toBuffer();
    await writeFile(path.join(imageDir, fileName), png);
    json.images.push({ id: i + 1, file_name: fileName, width: scene.width, height: scene.height });
    json.annotations.push(...sceneAnnotations(scene, i + 1, json.annotations.length + 1));
  }
  const annotationFile = path.join(dir, 'annotations.json');
  await writeFile(annotationFile, JSON.stringify(json));
  return { annotationFile, imageDir, numImages: o.numImages, numAnnotations: json.annotations.length };
}
