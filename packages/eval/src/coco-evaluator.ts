import { accumulate, type NdArray } from './accumulate.js';
import { CocoGroundTruth } from './coco-ground-truth.js';
import type { CocoDatasetJson, CocoResult, IouType } from './coco-types.js';
import { resolveParams, type EvalParams, type EvaluateOptions } from './eval-params.js';
import { evaluateImages } from './evaluate-images.js';
import { loadResults, type CocoDetection } from './load-results.js';
import { detectionQueries, summarizeValue, summaryLine } from './summarize.js';

/** The twelve COCO numbers by name (stats[0..11]); AR1/AR10/AR100 are at maxDets[0], [1], [2]. */
export interface CocoStats {
  AP: number;
  AP50: number;
  AP75: number;
  APs: number;
  APm: number;
  APl: number;
  AR1: number;
  AR10: number;
  AR100: number;
  ARs: number;
  ARm: number;
  ARl: number;
}

/**
 * One category's AP as detectron2 tabulates it: the mean of precision[:, :, k, area, −1] (the last
 * maxDets) over entries > −1, at IoU .50:.95 (AP), .50, .75 and for the small/medium/large ranges.
 * Values are in [0, 1] (detectron2 prints ×100); −1 where nothing was measured (detectron2's nan).
 */
export interface CategoryResult {
  catId: number;
  name: string;
  AP: number;
  AP50: number;
  AP75: number;
  APs: number;
  APm: number;
  APl: number;
}

/** Everything one `evaluate` call measured. Plain numbers and arrays; nothing to dispose. */
export interface CocoEvaluation {
  iouType: IouType;
  /** pycocotools' `stats`: 12 numbers in [0, 1], −1 where undefined. */
  stats: number[];
  named: CocoStats;
  /** One entry per evaluated category (in params.catIds order); empty with useCats = false. */
  perCategory: CategoryResult[];
  /** The 12 lines pycocotools' `summarize()` prints, joined by "\n" (no trailing newline). */
  summary: string;
  /** Interpolated precision, dims [T, R, K, A, M], −1 where pycocotools has −1. */
  precision: NdArray;
  /** Recall, dims [T, K, A, M], −1 where pycocotools has −1. */
  recall: NdArray;
  /** The parameters used (defaults filled in, ids sorted as COCOeval sorts them). */
  params: EvalParams;
}

const NAMES: ReadonlyArray<keyof CocoStats> = ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR1', 'AR10', 'AR100', 'ARs', 'ARm', 'ARl'];

/**
 * COCO detection evaluation with the semantics of pycocotools' COCOeval (loadRes → evaluate →
 * accumulate → summarize), for `bbox` and `segm`. The ground truth is validated and indexed once;
 * `evaluate` may be called any number of times. Inputs are never modified.
 */
export class CocoEvaluator {
  /** The validated, indexed ground truth. */
  readonly groundTruth: CocoGroundTruth;

  constructor(groundTruth: CocoDatasetJson) {
    this.groundTruth = new CocoGroundTruth(groundTruth);
  }

  /** Validates and completes results as pycocotools' `loadRes` (see the free function `loadResults`). */
  loadResults(results: readonly CocoResult[]): CocoDetection[] {
    return loadResults(this.groundTruth, results);
  }

  /**
   * Evaluates COCO results (`image_id`, `category_id`, `score`, and `bbox` or an RLE `segmentation`)
   * with IoU of boxes (`'bbox'`) or masks (`'segm'`). Throws ValueError for bad results or options.
   */
  evaluate(results: readonly CocoResult[], iouType: IouType, options: EvaluateOptions = {}): CocoEvaluation {
    const params = resolveParams(this.groundTruth, iouType, options);
    const detections = this.loadResults(results);
    const evalImgs = evaluateImages(this.groundTruth, detections, params);
    const acc = accumulate(evalImgs, params);
    const queries = detectionQueries(params.maxDets);
    const stats = queries.map((q) => summarizeValue(acc, params, q));
    const summary = queries.map((q, i) => summaryLine(params, q, stats[i])).join('\n');
    const named = Object.fromEntries(NAMES.map((n, i) => [n, stats[i]])) as unknown as CocoStats;
    const mIndex = params.maxDets.length - 1;
    const perCategory = !params.useCats
      ? []
      : params.catIds.map((catId, k) => {
          const at = (iouThr: number | undefined, areaLbl: string): number =>
            summarizeValue(acc, params, { ap: true, iouThr, areaLbl, maxDets: params.maxDets[mIndex], mIndex, k });
          return {
            catId,
            name: this.groundTruth.categories.get(catId)?.name ?? String(catId),
            AP: at(undefined, 'all'),
            AP50: at(0.5, 'all'),
            AP75: at(0.75, 'all'),
            APs: at(undefined, 'small'),
            APm: at(undefined, 'medium'),
            APl: at(undefined, 'large'),
          };
        });
    return { iouType, stats, named, perCategory, summary, precision: acc.precision, recall: acc.recall, params };
  }
}
