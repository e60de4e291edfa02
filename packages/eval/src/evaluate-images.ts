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
 * maxDets[-1] detections by score (stable), and runs `evaluateImage` for all area ranges. Returns
 * COCOeval's `evalImgs` with the area ranges folded into each entry: K×I entries at `k·I + i`, null
 * where an image has neither ground truth nor detections of that category.
 */
export function evaluateImages(
  groundTruth: CocoGroundTruth,
  detections: readonly CocoDetection[],
  params: EvalParams,
): Array<ImageEval | null> {
  const { imgIds, catIds, useCats, areaRng, iouThrs, iouType } = params;
  const segm = iouType === 'segm';
  const I = imgIds.length;
  const C = catIds.length;
  // group index i·C + c of (image, category); duplicate ids (kept without useCats) group at the first
  const imgIndex = new Map<number, number>();
  imgIds.forEach((id, i) => imgIndex.set(id, i));
  const catIndex = new Map<number, number>();
  catIds.forEach((id, c) => {
    if (!catIndex.has(id)) catIndex.set(id, c);
  });
  const gts: Gt[][] = Array.from({ length: I * C }, () => []);
  const dts: Dt[][] = Array.from({ length: I * C }, () => []);
  imgIds.forEach((img, i) => {
    for (const ann of groundTruth.annotationsOf(img)) {
      const c = catIndex.get(ann.categoryId);
      if (c === undefined) continue;
      const rle = segm ? gtRle(groundTruth, ann) : undefined;
      gts[i * C + c].push({ id: ann.id, area: ann.area, iscrowd: ann.iscrowd, bbox: ann.bbox, rle });
    }
  });
  for (let j = 0; j < detections.length; j++) {
    const det = detections[j];
    const i = imgIndex.get(det.imageId);
    const c = catIndex.get(det.categoryId);
    if (i === undefined || c === undefined) continue;
    const rle = segm ? dtRle(groundTruth, det) : undefined;
    dts[i * C + c].push({ area: det.area, score: det.score, bbox: det.bbox, rle });
  }

  const maxDet = params.maxDets[params.maxDets.length - 1];
  const K = useCats ? C : 1;
  const evalImgs = new Array<ImageEval | null>(K * I).fill(null);
  for (let k = 0; k < K; k++) {
    // without useCats every image pools the categories in catIds order (duplicates included)
    const cs = useCats ? [k] : catIds.map((id) => catIndex.get(id) as number);
    for (let i = 0; i < I; i++) {
      const gt = cs.length === 1 ? gts[i * C + cs[0]] : cs.flatMap((c) => gts[i * C + c]);
      let dt = cs.length === 1 ? dts[i * C + cs[0]] : cs.flatMap((c) => dts[i * C + c]);
      if (gt.length === 0 && dt.length === 0) continue;
      const sorted = stableArgsortDesc(dt.map((d) => d.score));
      const n = sorted.length < maxDet ? sorted.length : maxDet;
      const kept: Dt[] = new Array<Dt>(n);
      for (let j = 0; j < n; j++) kept[j] = dt[sorted[j]];
      dt = kept;
      evalImgs[k * I + i] = evaluateImage(gt, dt, computeIou(gt, dt, segm), areaRng, iouThrs);
    }
  }
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
