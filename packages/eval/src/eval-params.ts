import { ValueError } from '@residual/core';
import type { CocoGroundTruth } from './coco-ground-truth.js';
import type { IouType } from './coco-types.js';
import { describeValue } from './describe-value.js';

/** Options of `CocoEvaluator.evaluate`, named as pycocotools' `COCOeval.params`. */
export interface EvaluateOptions {
  /** Images to evaluate (default: all of the ground truth); sorted and de-duplicated as COCOeval does. */
  imgIds?: number[];
  /** Categories to evaluate (default: all); sorted and de-duplicated when `useCats` (kept as given otherwise). */
  catIds?: number[];
  /** Match detections to ground truth of their own category only (default true; false pools all categories). */
  useCats?: boolean | 0 | 1;
  /** Detections kept per image (default [1, 10, 100]); at least 3 values, sorted ascending. */
  maxDets?: number[];
  /** IoU thresholds (default 0.50:0.05:0.95, 10 values), used in the given order. */
  iouThrs?: number[];
  /** Four area ranges [lo, hi] in pixels², labelled all, small, medium, large (default 0–1e10, 0–32², 32²–96², 96²–1e10). */
  areaRng?: Array<[number, number]>;
}

/** The resolved parameters of one evaluation (COCOeval's `params` after `evaluate()`). */
export interface EvalParams {
  iouType: IouType;
  imgIds: number[];
  catIds: number[];
  useCats: boolean;
  iouThrs: number[];
  /** 101 recall thresholds 0:0.01:1. */
  recThrs: number[];
  maxDets: number[];
  areaRng: Array<[number, number]>;
  areaRngLbl: string[];
}

/** COCOeval's labels for the four area ranges, in order. */
export const AREA_RANGE_LABELS: readonly string[] = ['all', 'small', 'medium', 'large'];

/** `np.linspace(start, stop, num)` with numpy's arithmetic (i·step + start, last value = stop exactly). */
export function linspace(start: number, stop: number, num: number): number[] {
  const step = (stop - start) / (num - 1);
  const out = Array.from({ length: num }, (_, i) => i * step + start);
  if (num > 1) out[num - 1] = stop;
  return out;
}

const WHERE = 'evaluate';

/** Validates `options` against the ground truth and fills in COCOeval's defaults (see EvaluateOptions). */
export function resolveParams(gt: CocoGroundTruth, iouType: IouType, options: EvaluateOptions = {}): EvalParams {
  if (iouType !== 'bbox' && iouType !== 'segm') {
    throw new ValueError(`${WHERE}: iouType must be 'bbox' or 'segm', got ${describeValue(iouType)}`);
  }
  if (options === null || typeof options !== 'object') {
    throw new ValueError(`${WHERE}: options must be an object, got ${describeValue(options)}`);
  }
  const useCats = options.useCats ?? true;
  if (useCats !== true && useCats !== false && useCats !== 0 && useCats !== 1) {
    throw new ValueError(`${WHERE}: options.useCats must be a boolean (or 0/1), got ${describeValue(useCats)}`);
  }
  const ascendingUnique = (ids: number[]): number[] => [...new Set(ids)].sort((a, b) => a - b);
  const imgIds = ascendingUnique(checkIds(options.imgIds, 'imgIds', gt.imageIds, (id) => gt.images.has(id), 'image'));
  let catIds = checkIds(options.catIds, 'catIds', gt.categoryIds, (id) => gt.categories.has(id), 'category');
  if (useCats) catIds = ascendingUnique(catIds);

  const maxDets = options.maxDets ?? [1, 10, 100];
  if (!Array.isArray(maxDets) || maxDets.length < 3 || !maxDets.every((m) => Number.isInteger(m) && m > 0)) {
    throw new ValueError(`${WHERE}: options.maxDets must be at least 3 positive integers, got ${describeValue(maxDets)}`);
  }
  const iouThrs = options.iouThrs ?? linspace(0.5, 0.95, 10);
  if (!Array.isArray(iouThrs) || iouThrs.length === 0 || !iouThrs.every((t) => typeof t === 'number' && t >= 0 && t <= 1)) {
    throw new ValueError(`${WHERE}: options.iouThrs must be a non-empty list of numbers in [0, 1], got ${describeValue(iouThrs)}`);
  }
  const areaRng = options.areaRng ?? [
    [0, 1e5 ** 2],
    [0, 32 ** 2],
    [32 ** 2, 96 ** 2],
    [96 ** 2, 1e5 ** 2],
  ];
  const okRange = (r: unknown): boolean =>
    Array.isArray(r) && r.length === 2 && r.every((v) => typeof v === 'number' && !Number.isNaN(v));
  if (!Array.isArray(areaRng) || areaRng.length !== 4 || !areaRng.every(okRange)) {
    throw new ValueError(
      `${WHERE}: options.areaRng must be 4 ranges [lo, hi] (all, small, medium, large), got ${describeValue(areaRng)}`,
    );
  }
  return {
    iouType,
    imgIds,
    catIds,
    useCats: !!useCats,
    iouThrs: [...iouThrs],
    recThrs: linspace(0, 1, 101),
    maxDets: [...maxDets].sort((a, b) => a - b),
    areaRng: areaRng.map(([lo, hi]) => [lo, hi]),
    areaRngLbl: [...AREA_RANGE_LABELS],
  };
}

function checkIds(
  ids: number[] | undefined,
  name: string,
  all: number[],
  known: (id: number) => boolean,
  what: string,
): number[] {
  if (ids === undefined) return all;
  if (!Array.isArray(ids)) throw new ValueError(`${WHERE}: options.${name} must be an array of ids, got ${describeValue(ids)}`);
  for (const id of ids) {
    if (!known(id)) throw new ValueError(`${WHERE}: options.${name} contains ${describeValue(id)}, which is not a ${what} of the ground truth`);
  }
  return [...ids];
}
