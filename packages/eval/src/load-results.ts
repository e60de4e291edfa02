import { ValueError, rleArea, rleToBbox, type Segmentation } from '@residual/core';
import type { CocoGroundTruth } from './coco-ground-truth.js';
import type { CocoResult } from './coco-types.js';
import { describeValue, isBox } from './describe-value.js';

/** A detection after `loadResults`: the fields COCOeval reads, with the id and area loadRes gives it. */
export interface CocoDetection {
  /** 1..n in the order of the results array (pycocotools' `loadRes`). */
  id: number;
  imageId: number;
  categoryId: number;
  score: number;
  /** `[x, y, w, h]` in pixels: as given, or the RLE's tight box when only a mask was given. */
  bbox: number[];
  /** `w·h` of the box on loadRes' bbox path, the mask's pixel count on its segmentation path. */
  area: number;
  /** The RLE as given, or on the bbox path without one the box as a polygon (as loadRes). */
  segmentation: Segmentation;
}

const WHERE = 'loadResults';
const { isArray } = Array; // bound once: global lookups are slow inside jest's vm sandbox

/**
 * Validates COCO results against the ground truth and completes them as pycocotools' `COCO.loadRes`:
 * ids 1..n in array order, iscrowd 0, and — chosen by the FIRST result, as loadRes does — either the
 * bbox path (`area = w·h`, a missing segmentation becomes the box's polygon; taken whenever
 * results[0] has a non-empty `bbox`, even for segm evaluation) or the segmentation path (RLE only;
 * `area` = its pixel count, a missing or empty `bbox` its tight box). Throws ValueError naming the entry for an
 * `image_id` that is not an image of the ground truth (pycocotools asserts "Results do not correspond
 * to current coco set"), an unknown `category_id` (pycocotools would skip it silently), a missing or
 * non-finite score, a box that is not 4 finite numbers, or a malformed RLE. An empty array gives no
 * detections (pycocotools fails on it). The input is not modified.
 */
export function loadResults(groundTruth: CocoGroundTruth, results: readonly CocoResult[]): CocoDetection[] {
  if (!isArray(results)) {
    throw new ValueError(`${WHERE}: results must be an array of COCO results, got ${describeValue(results)}`);
  }
  if (results.length === 0) return [];
  const first = results[0] as Partial<CocoResult> | null;
  const hasBox = (r: Partial<CocoResult>): boolean => 'bbox' in r && !(isArray(r.bbox) && r.bbox.length === 0);
  let path: 'bbox' | 'segm';
  if (first !== null && typeof first === 'object' && hasBox(first)) path = 'bbox';
  else if (first !== null && typeof first === 'object' && 'segmentation' in first) path = 'segm';
  else throw new ValueError(`${WHERE}: results[0] must have a bbox or a segmentation, got ${describeValue(first)}`);
  return results.map((r, i) => loadOne(groundTruth, r, i, path));
}

function loadOne(gt: CocoGroundTruth, r: CocoResult, i: number, path: 'bbox' | 'segm'): CocoDetection {
  const name = `results[${i}]`;
  if (r === null || typeof r !== 'object' || isArray(r)) {
    throw new ValueError(`${WHERE}: ${name} must be an object, got ${describeValue(r)}`);
  }
  if (!gt.images.has(r.image_id)) {
    throw new ValueError(`${WHERE}: ${name}.image_id ${describeValue(r.image_id)} is not an image of the ground truth`);
  }
  if (!gt.categories.has(r.category_id)) {
    throw new ValueError(`${WHERE}: ${name}.category_id ${describeValue(r.category_id)} is not a category of the ground truth`);
  }
  if (typeof r.score !== 'number' || r.score - r.score !== 0) {
    throw new ValueError(`${WHERE}: ${name}.score must be a finite number, got ${describeValue(r.score)}`);
  }
  // on the segmentation path an absent or empty box is replaced by the mask's tight box
  const givenBox = r.bbox !== undefined && !(isArray(r.bbox) && r.bbox.length === 0);
  if (path === 'bbox' || givenBox) {
    if (!isBox(r.bbox)) {
      throw new ValueError(`${WHERE}: ${name}.bbox must be [x, y, w, h] (4 finite numbers), got ${describeValue(r.bbox)}`);
    }
  }
  if (path === 'bbox') {
    const b = r.bbox as number[];
    const x = b[0];
    const y = b[1];
    const w = b[2];
    const h = b[3];
    const segmentation = r.segmentation ?? [[x, y, x, y + h, x + w, y + h, x + w, y]];
    return { id: i + 1, imageId: r.image_id, categoryId: r.category_id, score: r.score, bbox: b, area: w * h, segmentation };
  }
  const seg = r.segmentation;
  if (seg === null || typeof seg !== 'object' || isArray(seg)) {
    const got = isArray(seg) ? 'a polygon list' : describeValue(seg);
    throw new ValueError(`${WHERE}: ${name}.segmentation must be an RLE { size, counts }, got ${got}`);
  }
  let area: number;
  let bbox: number[];
  try {
    area = rleArea(seg);
    bbox = givenBox ? (r.bbox as number[]) : rleToBbox(seg);
  } catch (e) {
    throw new ValueError(`${WHERE}: ${name}.segmentation is not a valid RLE (${(e as Error).message})`);
  }
  return { id: i + 1, imageId: r.image_id, categoryId: r.category_id, score: r.score, bbox, area, segmentation: seg };
}
