// Globals bound once: inside jest's vm sandbox every global lookup is an interceptor call.
const U8 = Uint8Array;
const F64 = Float64Array;

/** What matching needs of a ground-truth object. */
export interface MatchGt {
  id: number;
  area: number;
  iscrowd: boolean;
}

/** What matching needs of a detection. */
export interface MatchDt {
  area: number;
  score: number;
}

/**
 * COCOeval's `evaluateImg` results for one image and one category (or all, without useCats), for
 * every area range at once. Flag arrays are row-major: `[A, T, D]` (area a, threshold t, detection
 * d at `(a·T + t)·D + d`) and `[A, G]`.
 */
export interface ImageEval {
  /** Scores of the detections, highest first (stable), at most maxDets[-1]. */
  dtScores: Float64Array;
  /** 1 where the detection matched a ground truth whose id is not 0 (COCOeval's `dtm` as a truth value). */
  dtMatched: Uint8Array;
  /** 1 where the detection counts neither way: matched to an ignored gt, or unmatched and outside the area range. */
  dtIgnore: Uint8Array;
  /** Per area range, 1 per ground truth (in COCOeval's ignore-last order) that is a crowd or outside the range. */
  gtIgnore: Uint8Array;
  /** Number of ground-truth objects G. */
  numGt: number;
}

/**
 * pycocotools `COCOeval.evaluateImg` for each area range in `areaRng`: greedy matching of
 * detections (already sorted by score, highest first, and truncated to maxDets[-1]) to ground truth
 * for every IoU threshold. `ious[d][g]` is IoU of detection d with ground truth g in the given gt
 * order (empty when either side is empty). Ground truth is reordered non-ignored first (stable);
 * each detection takes the gt with the highest IoU ≥ min(t, 1 − 1e−10) (later ones win ties) that
 * is still free — a crowd is never used up — and stops looking once it holds a regular gt and
 * reaches the ignored ones. A match with an ignored gt makes the detection ignored; an unmatched
 * detection outside the area range too. COCOeval records matches by gt id, so a gt with id 0 counts
 * as no match; this keeps that quirk.
 */
export function evaluateImage(
  gts: readonly MatchGt[],
  dts: readonly MatchDt[],
  ious: readonly (readonly number[])[],
  areaRng: ReadonlyArray<readonly [number, number]>,
  iouThrs: readonly number[],
): ImageEval {
  const G = gts.length;
  const D = dts.length;
  const T = iouThrs.length;
  const A = areaRng.length;
  const dtScores = new F64(D);
  for (let d = 0; d < D; d++) dtScores[d] = dts[d].score;
  const dtMatched = new U8(A * T * D);
  const dtIgnore = new U8(A * T * D);
  const gtIgnore = new U8(A * G);
  const order: number[] = new Array<number>(G);
  const crowd: boolean[] = new Array<boolean>(G);
  const ids: number[] = new Array<number>(G);
  const used = new U8(T * G);
  for (let a = 0; a < A; a++) {
    const lo = areaRng[a][0];
    const hi = areaRng[a][1];
    // gt order of np.argsort(_ignore, kind='mergesort'): regular ones first, both groups in input order
    let n = 0;
    for (let g = 0; g < G; g++) {
      const gt = gts[g];
      if (!(gt.iscrowd || gt.area < lo || gt.area > hi)) order[n++] = g;
    }
    const numRegular = n;
    for (let g = 0; g < G; g++) {
      const gt = gts[g];
      if (gt.iscrowd || gt.area < lo || gt.area > hi) order[n++] = g;
    }
    for (let gi = 0; gi < G; gi++) {
      gtIgnore[a * G + gi] = gi >= numRegular ? 1 : 0;
      crowd[gi] = gts[order[gi]].iscrowd;
      ids[gi] = gts[order[gi]].id;
    }
    if (ious.length > 0) {
      used.fill(0);
      matchThresholds(ious, order, crowd, ids, numRegular, iouThrs, used, dtMatched, dtIgnore, a * T * D);
    }
    for (let d = 0; d < D; d++) {
      const area = dts[d].area;
      if (!(area < lo || area > hi)) continue;
      for (let t = 0; t < T; t++) {
        const at = (a * T + t) * D + d;
        if (!dtMatched[at]) dtIgnore[at] = 1;
      }
    }
  }
  return { dtScores, dtMatched, dtIgnore, gtIgnore, numGt: G };
}

// The matching loop of evaluateImg for one area range; gt index gi ≥ numRegular is an ignored gt.
function matchThresholds(
  ious: readonly (readonly number[])[],
  order: readonly number[],
  crowd: readonly boolean[],
  ids: readonly number[],
  numRegular: number,
  iouThrs: readonly number[],
  used: Uint8Array,
  dtMatched: Uint8Array,
  dtIgnore: Uint8Array,
  base: number,
): void {
  const D = ious.length;
  const G = order.length;
  for (let t = 0; t < iouThrs.length; t++) {
    const thr = iouThrs[t] < 1 - 1e-10 ? iouThrs[t] : 1 - 1e-10;
    for (let d = 0; d < D; d++) {
      const row = ious[d];
      let best = thr;
      let m = -1;
      for (let gi = 0; gi < G; gi++) {
        if (used[t * G + gi] && !crowd[gi]) continue;
        if (m > -1 && m < numRegular && gi >= numRegular) break;
        const v = row[order[gi]];
        if (v < best) continue;
        best = v;
        m = gi;
      }
      if (m === -1) continue;
      dtIgnore[base + t * D + d] = m >= numRegular ? 1 : 0;
      dtMatched[base + t * D + d] = ids[m] !== 0 ? 1 : 0;
      used[t * G + m] = 1; // detection ids are 1..n, so COCOeval's gtm > 0 test is "used"
    }
  }
}
