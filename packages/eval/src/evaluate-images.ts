import { ValueError, annToRle, bboxIou, rleIou, type Rle } from '@residual/core';
import type { CocoGroundTruth, GroundTruthAnnotation } from './coco-ground-truth.js';
import type { CocoDetection } from './load-results.js';
import type { EvalParams } from './eval-params.js';
import { evaluateImage, type ImageEval, type MatchDt, type MatchGt } from './evaluate-image.js';
import { stableArgsortDesc } from './stable-argsort.js';

interface Gt extends MatchGt {
  bbox: number[];
  rle?: Rle;
}

interface Dt extends MatchDt {
  bbox: number[];
  rle?: Rle;
}

/**
 * pycocotools `COCOeval.evaluate()` after its parameters are set: selects ground truth and
 * detections of `params.imgIds` (and `catIds` with useCats), rasterises them for segm, computes IoU
 * per image and category (all selected categories pooled without useCats) for the top
 * maxDets[-1] detections by score (stable), and runs `evaluateImage` for each area range. Returns
 * COCOeval's `evalImgs`: K×A×I entries at `(k·A + a)·I + i`, null where an image has neither ground
 * truth nor detections of that category.
 */
export function evaluateImages(
  groundTruth: CocoGroundTruth,
  detections: readonly CocoDetection[],
  params: EvalParams,
): Array<ImageEval | null> {
  const { imgIds, catIds, useCats, areaRng, iouThrs, iouType } = params;
  const segm = iouType === 'segm';
  const catSet = new Set(catIds);
  const key = (img: number, cat: number): string => `${img}:${cat}`;
  const gts = new Map<string, Gt[]>();
  const dts = new Map<string, Dt[]>();
  const push = <V>(map: Map<string, V[]>, k: string, v: V): void => {
    const list = map.get(k);
    if (list) list.push(v);
    else map.set(k, [v]);
  };
  for (const img of imgIds) {
    for (const ann of groundTruth.annotationsOf(img)) {
      if (!catSet.has(ann.categoryId)) continue;
      const rle = segm ? gtRle(groundTruth, ann) : undefined;
      push(gts, key(img, ann.categoryId), { id: ann.id, area: ann.area, iscrowd: ann.iscrowd, bbox: ann.bbox, rle });
    }
  }
  const imgSet = new Set(imgIds);
  for (const det of detections) {
    if (!imgSet.has(det.imageId) || !catSet.has(det.categoryId)) continue;
    const rle = segm ? dtRle(groundTruth, det) : undefined;
    push(dts, key(det.imageId, det.categoryId), { area: det.area, score: det.score, bbox: det.bbox, rle });
  }

  const maxDet = params.maxDets[params.maxDets.length - 1];
  const catKeys = useCats ? catIds : [-1];
  const A = areaRng.length;
  const I = imgIds.length;
  const evalImgs = new Array<ImageEval | null>(catKeys.length * A * I).fill(null);
  catKeys.forEach((cat, k) => {
    imgIds.forEach((img, i) => {
      const cats = useCats ? [cat] : catIds;
      const gt = cats.flatMap((c) => gts.get(key(img, c)) ?? []);
      let dt = cats.flatMap((c) => dts.get(key(img, c)) ?? []);
      if (gt.length === 0 && dt.length === 0) return;
      dt = stableArgsortDesc(dt.map((d) => d.score))
        .slice(0, maxDet)
        .map((j) => dt[j]);
      const ious = computeIou(gt, dt, segm);
      for (let a = 0; a < A; a++) {
        evalImgs[(k * A + a) * I + i] = evaluateImage(gt, dt, ious, areaRng[a], iouThrs);
      }
    });
  });
  return evalImgs;
}

// COCOeval.computeIoU: maskUtils.iou gives [] when either side is empty
function computeIou(gt: readonly Gt[], dt: readonly Dt[], segm: boolean): number[][] {
  if (gt.length === 0 || dt.length === 0) return [];
  const crowd = gt.map((g) => g.iscrowd);
  if (segm) return rleIou(dt.map((d) => d.rle as Rle), gt.map((g) => g.rle as Rle), crowd);
  return bboxIou(dt.map((d) => d.bbox), gt.map((g) => g.bbox), crowd);
}

function gtRle(gt: CocoGroundTruth, ann: GroundTruthAnnotation): Rle {
  const name = `groundTruth.annotations[${ann.index}]`;
  if (ann.segmentation === undefined) {
    throw new ValueError(`evaluate: ${name} (id ${ann.id}) has no segmentation, which segm evaluation needs`);
  }
  const [h, w] = gt.imageSize(ann.imageId, 'evaluate');
  try {
    return annToRle(ann.segmentation, h, w);
  } catch (e) {
    throw new ValueError(`evaluate: ${name}.segmentation (id ${ann.id}) is invalid: ${(e as Error).message}`);
  }
}

function dtRle(gt: CocoGroundTruth, det: CocoDetection): Rle {
  const [h, w] = gt.imageSize(det.imageId, 'evaluate');
  try {
    return annToRle(det.segmentation, h, w);
  } catch (e) {
    throw new ValueError(`evaluate: results[${det.id - 1}].segmentation is invalid: ${(e as Error).message}`);
  }
}
