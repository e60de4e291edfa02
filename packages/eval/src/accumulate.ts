import type { EvalParams } from './eval-params.js';
import type { ImageEval } from './evaluate-image.js';
import { stableArgsortDesc } from './stable-argsort.js';

/** A float64 array in C order with its dimensions. */
export interface NdArray {
  data: Float64Array;
  dims: number[];
}

/** COCOeval's `eval` after `accumulate()`: −1 where there was nothing to measure. */
export interface Accumulated {
  /** Interpolated precision `[T, R, K, A, M]` (IoU threshold, recall threshold, category, area, maxDets). */
  precision: NdArray;
  /** Recall `[T, K, A, M]`. */
  recall: NdArray;
}

const EPS = 2.220446049250313e-16; // np.spacing(1)
// Globals bound once: inside jest's vm sandbox every global lookup is an interceptor call.
const F64 = Float64Array;
const I32 = Int32Array;
const U8 = Uint8Array;

/**
 * pycocotools `COCOeval.accumulate`: for every category, area range and maxDets, the detections of
 * all images (each truncated to maxDets) in score order — a stable sort of the image-ordered list —
 * give cumulative true/false positives per IoU threshold (ignored detections count neither way);
 * recall = tp / #non-ignored gt, precision = tp / (tp + fp + eps) made non-increasing from the right,
 * then read at the 101 recall thresholds (first index with recall ≥ threshold; 0 beyond the last
 * recall reached). Categories without non-ignored ground truth stay −1.
 */
export function accumulate(evalImgs: ReadonlyArray<ImageEval | null>, params: EvalParams): Accumulated {
  const T = params.iouThrs.length;
  const R = params.recThrs.length;
  const K = params.useCats ? params.catIds.length : 1;
  const A = params.areaRng.length;
  const M = params.maxDets.length;
  const I = params.imgIds.length;
  const recThrs = params.recThrs;
  const precision = new F64(T * R * K * A * M).fill(-1);
  const recall = new F64(T * K * A * M).fill(-1);
  for (let k = 0; k < K; k++) {
    // the images with an entry, in image order; their detections and scores do not depend on the
    // area range, only the matched / ignore flags do
    const present: ImageEval[] = [];
    for (let i = 0; i < I; i++) {
      const e = evalImgs[k * I + i];
      if (e !== null) present.push(e);
    }
    if (present.length === 0) continue;
    const { total, orders } = scoreOrders(present, params.maxDets);
    const nMax = orders.reduce((n, o) => (o.length > n ? o.length : n), 0);
    const rc = new F64(nMax);
    const pr = new F64(nMax);
    const q = new F64(R);
    const matched = new U8(T * total); // [T, total] in image order
    const ignore = new U8(T * total);
    for (let a = 0; a < A; a++) {
      const npig = gatherFlags(present, a, T, total, matched, ignore);
      if (npig === 0) continue;
      for (let m = 0; m < M; m++) {
        for (let t = 0; t < T; t++) {
          const rcLast = interpolatedPrecision(orders[m], matched, ignore, t * total, npig, rc, pr, recThrs, q);
          recall[((t * K + k) * A + a) * M + m] = rcLast;
          for (let r = 0; r < R; r++) precision[(((t * R + r) * K + k) * A + a) * M + m] = q[r];
        }
      }
    }
  }
  return { precision: { data: precision, dims: [T, R, K, A, M] }, recall: { data: recall, dims: [T, K, A, M] } };
}

/**
 * One precision/recall curve: walks the detections in `order` (positions into the flag arrays,
 * offset by `base`), fills `rc` / `pr` with cumulative recall and precision, makes precision
 * non-increasing from the right and writes it at the recall thresholds into `q`
 * (np.searchsorted 'left'; 0 past the last recall reached, where the reference hits IndexError).
 * Returns the final recall (0 without detections). A separate small function so V8 optimises it early.
 */
function interpolatedPrecision(
  order: readonly number[],
  matched: Uint8Array,
  ignore: Uint8Array,
  base: number,
  npig: number,
  rc: Float64Array,
  pr: Float64Array,
  recThrs: readonly number[],
  q: Float64Array,
): number {
  const nd = order.length;
  let tp = 0;
  let fp = 0;
  for (let j = 0; j < nd; j++) {
    const o = base + order[j];
    if (!ignore[o]) {
      if (matched[o]) tp++;
      else fp++;
    }
    rc[j] = tp / npig;
    pr[j] = tp / (fp + tp + EPS);
  }
  for (let j = nd - 1; j > 0; j--) if (pr[j] > pr[j - 1]) pr[j - 1] = pr[j];
  let pi = 0;
  for (let r = 0; r < recThrs.length; r++) {
    while (pi < nd && rc[pi] < recThrs[r]) pi++;
    q[r] = pi < nd ? pr[pi] : 0;
  }
  return nd > 0 ? rc[nd - 1] : 0;
}

/**
 * The detections of `entries` concatenated in image order (`total` of them), and for each maxDets
 * value the positions kept (each image truncated to it) stably sorted by score, highest first.
 */
function scoreOrders(entries: readonly ImageEval[], maxDets: readonly number[]): { total: number; orders: number[][] } {
  let total = 0;
  for (let e = 0; e < entries.length; e++) total += entries[e].dtScores.length;
  const scores = new F64(total);
  const rank = new I32(total); // position within its image (scores there are already sorted)
  let p = 0;
  for (let e = 0; e < entries.length; e++) {
    const s = entries[e].dtScores;
    for (let d = 0; d < s.length; d++, p++) {
      scores[p] = s[d];
      rank[p] = d;
    }
  }
  const orders = maxDets.map((maxDet) => {
    const kept: number[] = [];
    for (let j = 0; j < total; j++) if (rank[j] < maxDet) kept.push(j);
    const keptScores = kept.map((j) => scores[j]);
    return stableArgsortDesc(keptScores).map((o) => kept[o]);
  });
  return { total, orders };
}

/**
 * Copies the matched / ignore flags of area range `a` of `entries` into `[T, total]` arrays in image
 * order and returns the number of non-ignored ground-truth objects there (COCOeval's `npig`).
 */
function gatherFlags(
  entries: readonly ImageEval[],
  a: number,
  T: number,
  total: number,
  matched: Uint8Array,
  ignore: Uint8Array,
): number {
  let npig = 0;
  let offset = 0;
  for (let e = 0; e < entries.length; e++) {
    const entry = entries[e];
    const G = entry.numGt;
    const gtIgnore = entry.gtIgnore;
    for (let g = a * G; g < (a + 1) * G; g++) if (gtIgnore[g] === 0) npig++;
    const D = entry.dtScores.length;
    const dtMatched = entry.dtMatched;
    const dtIgnore = entry.dtIgnore;
    for (let t = 0; t < T; t++) {
      const src = (a * T + t) * D;
      const dst = t * total + offset;
      for (let d = 0; d < D; d++) {
        matched[dst + d] = dtMatched[src + d];
        ignore[dst + d] = dtIgnore[src + d];
      }
    }
    offset += D;
  }
  return npig;
}
