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
  const precision = new Float64Array(T * R * K * A * M).fill(-1);
  const recall = new Float64Array(T * K * A * M).fill(-1);
  for (let k = 0; k < K; k++) {
    // Which images have an entry does not depend on the area range (see evaluateImages).
    const present: number[] = [];
    for (let i = 0; i < I; i++) if (evalImgs[k * A * I + i] !== null) present.push(i);
    if (present.length === 0) continue;
    for (let m = 0; m < M; m++) {
      const maxDet = params.maxDets[m];
      // image-ordered detections (entry e, detection d), then a stable sort by score
      const srcE: number[] = [];
      const srcD: number[] = [];
      const scores: number[] = [];
      present.forEach((i, e) => {
        const s = (evalImgs[k * A * I + i] as ImageEval).dtScores;
        const n = s.length < maxDet ? s.length : maxDet;
        for (let d = 0; d < n; d++) {
          srcE.push(e);
          srcD.push(d);
          scores.push(s[d]);
        }
      });
      const order = stableArgsortDesc(scores);
      const nd = order.length;
      const rc = new Float64Array(nd);
      const pr = new Float64Array(nd);
      for (let a = 0; a < A; a++) {
        const E = present.map((i) => evalImgs[(k * A + a) * I + i] as ImageEval);
        let npig = 0;
        for (const e of E) for (let g = 0; g < e.gtIgnore.length; g++) if (e.gtIgnore[g] === 0) npig++;
        if (npig === 0) continue;
        for (let t = 0; t < T; t++) {
          let tp = 0;
          let fp = 0;
          for (let j = 0; j < nd; j++) {
            const o = order[j];
            const e = E[srcE[o]];
            const idx = t * e.dtScores.length + srcD[o];
            if (!e.dtIgnore[idx]) {
              if (e.dtMatched[idx]) tp++;
              else fp++;
            }
            rc[j] = tp / npig;
            pr[j] = tp / (fp + tp + EPS);
          }
          recall[((t * K + k) * A + a) * M + m] = nd > 0 ? rc[nd - 1] : 0;
          for (let j = nd - 1; j > 0; j--) if (pr[j] > pr[j - 1]) pr[j - 1] = pr[j];
          // np.searchsorted(rc, recThrs, side='left'); q stays 0 past the end (the reference's IndexError)
          let pi = 0;
          for (let r = 0; r < R; r++) {
            while (pi < nd && rc[pi] < recThrs[r]) pi++;
            precision[((((t * R + r) * K + k) * A + a) * M) + m] = pi < nd ? pr[pi] : 0;
          }
        }
      }
    }
  }
  return { precision: { data: precision, dims: [T, R, K, A, M] }, recall: { data: recall, dims: [T, K, A, M] } };
}
