import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ValueError } from '@residual/core';
import { validateCocoJson, type CocoAnnotation, type CocoCategory, type CocoDatasetJson, type CocoImage } from './coco-json.js';
import { buildCocoTarget } from './coco-target.js';
import { decodeImage, readImageBytes } from './read-image.js';
import type { Sample } from './sample.js';

/** Options of {@link CocoDataset.load}. */
export interface CocoDatasetOptions {
  /** Decode segmentations to `target.masks` [K,H,W] (default true). False skips the decoding and the check for `segmentation`. */
  masks?: boolean;
  /** Keep crowd annotations in the target, marked by `iscrowd` (default true). */
  includeCrowd?: boolean;
  /** Apply EXIF orientation when decoding (default true; see `ReadImageOptions`). */
  exifOrientation?: boolean;
  /**
   * Leave out images that have no annotation, or whose annotations all have a width or height ≤ 1
   * (crowd ones included), as torchvision's detection reference does for its training set
   * (`_coco_remove_images_without_annotations`). Default false: every image is kept, and one
   * without boxes gets an empty target ([0,4] boxes), which the detectors train on as all
   * background. Evaluation needs every image, so leave it off there.
   */
  removeImagesWithoutAnnotations?: boolean;
}

/**
 * A COCO instances data set on disk: an annotation file plus a folder of images.
 * Images are ordered by ascending image id (as torchvision's `CocoDetection`). Category ids map to
 * contiguous labels 1..numClasses−1 in ascending id order (0 is the background), and back.
 * Create it with the async factory `await CocoDataset.load(annotationFile, imageDir, options)`.
 */
export class CocoDataset {
  /** Categories sorted by ascending id; `categories[label − 1]` is the category of `label`. */
  readonly categories: readonly CocoCategory[];
  /** COCO category id → contiguous label (1-based). */
  readonly categoryIdToLabel: ReadonlyMap<number, number>;
  /** Contiguous label (1-based) → COCO category id. */
  readonly labelToCategoryId: ReadonlyMap<number, number>;
  private readonly images: readonly CocoImage[];
  private readonly annsByImage: ReadonlyMap<number, CocoAnnotation[]>;
  private readonly options: Required<CocoDatasetOptions>;

  /**
   * Use {@link CocoDataset.load} for files. `json` must already be valid (see `validateCocoJson`);
   * `source` names the annotation file in error messages.
   */
  constructor(
    readonly json: CocoDatasetJson,
    readonly imageDir: string,
    readonly source: string,
    options: CocoDatasetOptions = {},
  ) {
    this.options = { masks: true, includeCrowd: true, exifOrientation: true, removeImagesWithoutAnnotations: false, ...options };
    this.categories = [...json.categories].sort((a, b) => a.id - b.id);
    this.categoryIdToLabel = new Map(this.categories.map((c, i) => [c.id, i + 1]));
    this.labelToCategoryId = new Map(this.categories.map((c, i) => [i + 1, c.id]));
    const images = [...json.images].sort((a, b) => a.id - b.id);
    const byImage = new Map<number, CocoAnnotation[]>(images.map((im) => [im.id, []]));
    for (const a of json.annotations) byImage.get(a.image_id)?.push(a);
    this.annsByImage = byImage;
    // torchvision: _has_valid_annotation = len(anno) > 0 and not all(any(o <= 1 for o in bbox[2:]))
    const hasBox = (im: CocoImage): boolean => (byImage.get(im.id) as CocoAnnotation[]).some((a) => a.bbox[2] > 1 && a.bbox[3] > 1);
    this.images = this.options.removeImagesWithoutAnnotations ? images.filter(hasBox) : images;
  }

  /**
   * Reads and validates `annotationFile` (see `validateCocoJson` for the checks; errors name the
   * file and the entry). Image files are only opened by {@link get}.
   */
  static async load(annotationFile: string, imageDir: string, options: CocoDatasetOptions = {}): Promise<CocoDataset> {
    let text: string;
    try {
      text = await readFile(annotationFile, 'utf8');
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : (code ?? 'unreadable');
      throw Object.assign(new ValueError(`CocoDataset.load: cannot read ${annotationFile}: ${why}`), { cause });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (cause) {
      throw Object.assign(new ValueError(`CocoDataset.load: ${annotationFile} is not valid JSON (truncated or corrupt)`), { cause });
    }
    const valid = validateCocoJson(json, annotationFile, options.masks ?? true);
    return new CocoDataset(valid, imageDir, annotationFile, options);
  }

  /** Number of images. */
  get length(): number {
    return this.images.length;
  }

  /** Number of classes including the background (torchvision's `num_classes`): categories + 1. */
  get numClasses(): number {
    return this.categories.length + 1;
  }

  /** The `images` entry of the i-th image (ascending id order). */
  imageInfo(i: number): CocoImage {
    return this.images[this.checkIndex(i, 'imageInfo')];
  }

  /** The raw annotations of the i-th image, in file order (before boxes are clamped or skipped). */
  annotations(i: number): readonly CocoAnnotation[] {
    return this.annsByImage.get(this.imageInfo(i).id) as CocoAnnotation[];
  }

  /**
   * Loads the i-th image and its target. The image is [H,W,3] float32 in [0,1]; the target is
   * built as `buildCocoTarget` describes (boxes clamped, degenerate boxes skipped). Throws
   * ValueError naming the image file for a missing, corrupt or truncated image, and when the decoded
   * size differs from the annotation file's width/height. The caller owns every returned tensor.
   */
  async get(i: number): Promise<Sample> {
    const info = this.images[this.checkIndex(i, 'get')];
    const file = path.join(this.imageDir, info.file_name);
    const where = `CocoDataset.get: image id ${info.id}`;
    const bytes = await readImageBytes(file, where);
    let decoded;
    try {
      decoded = await decodeImage(bytes, file, { exifOrientation: this.options.exifOrientation });
    } catch (e) {
      throw Object.assign(new ValueError(`${where}: ${(e as Error).message}`), { cause: (e as Error & { cause?: unknown }).cause });
    }
    const { data, height, width } = decoded;
    if (height !== info.height || width !== info.width) {
      throw new ValueError(
        `${where}: ${file} decodes to height ${height}, width ${width} but ${this.source} says height ${info.height}, width ${info.width}`,
      );
    }
    const target = buildCocoTarget(
      this.annsByImage.get(info.id) as CocoAnnotation[],
      info.id,
      height,
      width,
      this.categoryIdToLabel,
      this.options,
      `${where} (${this.source})`,
    );
    return { image: tf.tensor3d(data, [height, width, 3], 'float32'), target };
  }

  private checkIndex(i: number, fn: string): number {
    if (!Number.isInteger(i) || i < 0 || i >= this.images.length) {
      throw new ValueError(`CocoDataset.${fn}: index must be an integer in [0, ${this.images.length}), got ${i}`);
    }
    return i;
  }
}
