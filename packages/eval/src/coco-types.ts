import type { Rle, Segmentation } from '@residual/core';

/** An image entry of a COCO instances file; `height` and `width` (pixels) are needed for segm evaluation. */
export interface CocoImage {
  id: number;
  height?: number;
  width?: number;
  file_name?: string;
  [key: string]: unknown;
}

/** A category entry of a COCO instances file. */
export interface CocoCategory {
  id: number;
  name: string;
  supercategory?: string;
  [key: string]: unknown;
}

/**
 * A ground-truth annotation. `bbox` is `[x, y, w, h]` in pixels; `area` is taken as written (COCO's
 * mask area), because COCOeval's area ranges use it rather than anything it computes; `iscrowd`
 * (default 0) marks a crowd region, which is never counted as a miss and may absorb many detections.
 * `segmentation` (polygons or RLE) is needed only for segm evaluation.
 */
export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  bbox: number[];
  area: number;
  iscrowd?: number | boolean;
  segmentation?: Segmentation;
  [key: string]: unknown;
}

/** A COCO instances file (`instances_val2017.json` and the like): the ground truth of an evaluation. */
export interface CocoDatasetJson {
  images: CocoImage[];
  annotations: CocoAnnotation[];
  categories: CocoCategory[];
  info?: unknown;
  licenses?: unknown;
  [key: string]: unknown;
}

/**
 * One detection in COCO results format. bbox results carry `bbox` `[x, y, w, h]`; segm results carry
 * `segmentation` as an RLE (compressed string or uncompressed counts), and may carry `bbox` too (as
 * detectron2 writes them). `category_id` is the dataset's id, not a contiguous label.
 */
export interface CocoResult {
  image_id: number;
  category_id: number;
  score: number;
  bbox?: number[];
  segmentation?: Rle;
  [key: string]: unknown;
}

/** Evaluation type: box IoU on `bbox`, or mask IoU on `segmentation` (COCOeval's `iouType`). */
export type IouType = 'bbox' | 'segm';
