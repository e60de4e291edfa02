import { ValueError, type Segmentation } from '@residual/core';
import type { CocoCategory, CocoDatasetJson, CocoImage } from './coco-types.js';
import { describeValue, isBox } from './describe-value.js';

/** A validated ground-truth annotation as the evaluator uses it (COCO fields, camelCase). */
export interface GroundTruthAnnotation {
  id: number;
  imageId: number;
  categoryId: number;
  /** `[x, y, w, h]` in pixels. */
  bbox: number[];
  /** As written in the file (COCOeval's area ranges use this number). */
  area: number;
  /** COCOeval's `ignore` flag: a crowd region. */
  iscrowd: boolean;
  segmentation?: Segmentation;
  /** Position in `annotations`, for error messages. */
  index: number;
}

const WHERE = 'CocoEvaluator';

/**
 * A COCO instances file, validated and indexed as pycocotools' `COCO.createIndex` does: images and
 * categories by id, annotations per image in file order. Throws ValueError naming the entry for a
 * missing or malformed field, a duplicate id, or an annotation of an unknown image or category
 * (pycocotools would carry on and fail later, or silently skip it). The input is not modified.
 */
export class CocoGroundTruth {
  /** Images by id (the input's objects: borrowed, do not mutate). */
  readonly images = new Map<number, CocoImage>();
  /** Categories by id (the input's objects: borrowed, do not mutate). */
  readonly categories = new Map<number, CocoCategory>();
  /** Image ids, ascending (COCOeval's default `imgIds`). */
  readonly imageIds: number[];
  /** Category ids, ascending (COCOeval's default `catIds`). */
  readonly categoryIds: number[];
  private readonly annsByImage = new Map<number, GroundTruthAnnotation[]>();

  constructor(json: CocoDatasetJson) {
    if (json === null || typeof json !== 'object' || Array.isArray(json)) {
      throw new ValueError(`${WHERE}: groundTruth must be a COCO instances object, got ${describeValue(json)}`);
    }
    for (const key of ['images', 'annotations', 'categories'] as const) {
      if (!Array.isArray(json[key])) {
        throw new ValueError(`${WHERE}: groundTruth.${key} must be an array, got ${describeValue(json[key])}`);
      }
    }
    json.images.forEach((img, i) => {
      const id = checkId(img, `groundTruth.images[${i}]`);
      if (this.images.has(id)) throw new ValueError(`${WHERE}: groundTruth.images[${i}].id ${id} is a duplicate`);
      this.images.set(id, img);
    });
    json.categories.forEach((cat, i) => {
      const id = checkId(cat, `groundTruth.categories[${i}]`);
      if (this.categories.has(id)) {
        throw new ValueError(`${WHERE}: groundTruth.categories[${i}].id ${id} is a duplicate`);
      }
      this.categories.set(id, cat);
    });
    const annIds = new Set<number>();
    json.annotations.forEach((ann, i) => {
      const name = `groundTruth.annotations[${i}]`;
      const id = checkId(ann, name);
      if (annIds.has(id)) throw new ValueError(`${WHERE}: ${name}.id ${id} is a duplicate`);
      annIds.add(id);
      const imageId = ann.image_id;
      if (!this.images.has(imageId)) {
        throw new ValueError(`${WHERE}: ${name}.image_id ${describeValue(imageId)} is not in groundTruth.images`);
      }
      const categoryId = ann.category_id;
      if (!this.categories.has(categoryId)) {
        throw new ValueError(`${WHERE}: ${name}.category_id ${describeValue(categoryId)} is not in groundTruth.categories`);
      }
      if (!isBox(ann.bbox)) {
        throw new ValueError(`${WHERE}: ${name}.bbox must be [x, y, w, h] (4 finite numbers), got ${describeValue(ann.bbox)}`);
      }
      if (typeof ann.area !== 'number' || !Number.isFinite(ann.area)) {
        throw new ValueError(`${WHERE}: ${name}.area must be a finite number, got ${describeValue(ann.area)}`);
      }
      const crowd = ann.iscrowd ?? 0;
      if (crowd !== 0 && crowd !== 1 && crowd !== true && crowd !== false) {
        throw new ValueError(`${WHERE}: ${name}.iscrowd must be 0 or 1, got ${describeValue(crowd)}`);
      }
      const entry: GroundTruthAnnotation = {
        id,
        imageId,
        categoryId,
        bbox: ann.bbox,
        area: ann.area,
        iscrowd: crowd === 1 || crowd === true,
        segmentation: ann.segmentation,
        index: i,
      };
      const list = this.annsByImage.get(imageId);
      if (list) list.push(entry);
      else this.annsByImage.set(imageId, [entry]);
    });
    const ascending = (a: number, b: number): number => a - b;
    this.imageIds = [...this.images.keys()].sort(ascending);
    this.categoryIds = [...this.categories.keys()].sort(ascending);
  }

  /** The annotations of one image in file order (borrowed, do not mutate); empty for none. */
  annotationsOf(imageId: number): readonly GroundTruthAnnotation[] {
    return this.annsByImage.get(imageId) ?? [];
  }

  /** `[height, width]` of an image, checked to be non-negative integers (segm evaluation needs them). */
  imageSize(imageId: number, where: string): [number, number] {
    const img = this.images.get(imageId);
    const h = img?.height;
    const w = img?.width;
    if (!Number.isInteger(h) || (h as number) < 0 || !Number.isInteger(w) || (w as number) < 0) {
      throw new ValueError(
        `${where}: image ${imageId} needs integer height and width for segm evaluation, got height=${describeValue(h)}, width=${describeValue(w)}`,
      );
    }
    return [h as number, w as number];
  }
}

function checkId(entry: unknown, name: string): number {
  if (entry === null || typeof entry !== 'object') {
    throw new ValueError(`${WHERE}: ${name} must be an object, got ${describeValue(entry)}`);
  }
  const id = (entry as { id?: unknown }).id;
  if (typeof id !== 'number' || !Number.isFinite(id)) {
    throw new ValueError(`${WHERE}: ${name}.id must be a finite number, got ${describeValue(id)}`);
  }
  return id;
}
