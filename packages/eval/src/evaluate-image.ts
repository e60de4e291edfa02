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
 * COCOeval's result for one image, one category (or all, without useCats) and one area range.
 * Per-threshold arrays are `[T, D]` row-major (threshold t, detection d at `t·D + d`).
 */
export interface ImageEval {
  /** Scores of the detections, highest first (stable), at most maxDets[-1]. */
  dtScores: Float64Array;
  /** 1 where the detection matched a ground truth whose id is not 0 (COCOeval's `dtm` as a truth value). */
  dtMatched: Uint8Array;
  /** 1 where the detection counts neither way: matched to an ignored gt, or unmatched and outside the area range. */
  dtIgnore: Uint8Array;
  /** 1 per ground truth (in COCOeval's ignore-last order) that is a crowd or outside the area range. */
  gtIgnore: Uint8Array;
}

/**
 * pycocotools `COCOeval.evaluateImg`: greedy matching of detections (already sorted by score,
 * highest first, and truncated to maxDets[-1]) to ground truth for every IoU threshold.
 * `ious[d][g]` is IoU of detection d with ground truth g in the given gt order (empty when either
 * side is empty). Ground truth is reordered non-ignored first (stable); each detection takes the
 * gt with the highest IoU ≥ min(t, 1 − 1e−10) (later ones win ties) that is still free — a crowd is
 * never used up — and stops looking once it holds a regular gt and reaches the ignored ones. A
 * match with an ignored gt makes the detection ignored; an unmatched detection outside `aRng` too.
 * COCOeval records matches by gt id, so a gt with id 0 counts as no match; this keeps that quirk.
 */
export function evaluateImage(
  gts: readonly MatchGt[],
  dts: readonly MatchDt[],
  ious: readonly (readonly number[])[],
  aRng: readonly [number, number],
  iouThrs: readonly number[],
): ImageEval {
  const G = gts.length;
  const D = dts.length;
  const T = iouThrs.length;
  const lo = aRng[0];
  const hi = aRng[1];
  // gt order of np.argsort(_ignore, kind='mergesort'): regular ones first, both groups in input order
  const order: number[] = [];
  const ignored: number[] = [];
  for (let g = 0; g < G; g++) {
    const gt = gts[g];
    if (gt.iscrowd || gt.area < lo || gt.area > hi) ignored.push(g);
    else order.push(g);
  }
  const numRegular = order.length;
  order.push(...ignored);
  const gtIgnore = new Uint8Array(G);
  const crowd = new Uint8Array(G);
  const ids = new Float64Array(G);
  for (let gi = 0; gi < G; gi++) {
    gtIgnore[gi] = gi >= numRegular ? 1 : 0;
    crowd[gi] = gts[order[gi]].iscrowd ? 1 : 0;
    ids[gi] = gts[order[gi]].id;
  }
  const dtScores = new Float64Array(D);
  for (let d = 0; d < D; d++) dtScores[d] = dts[d].score;
  const dtMatched = new Uint8Array(T * D);
  const dtIgnore = new Uint8Array(T * D);
  const gtUsed = new Uint8Array(T * G);
  if (ious.length > 0) {
    for (let t = 0; t < T; t++) {
      const thr = iouThrs[t] < 1 - 1e-10 ? iouThrs[t] : 1 - 1e-10;
      for (let d = 0; d < D; d++) {
        const row = ious[d];
        let best = thr;
        let m = -1;
        for (let gi = 0; gi < G; gi++) {
          if (gtUsed[t * G + gi] && !crowd[gi]) continue;
          if (m > -1 && gtIgnore[m] === 0 && gtIgnore[gi] === 1) break;
          const v = row[order[gi]];
          if (v < best) continue;
          best = v;
          m = gi;
        }
        if (m === -1) continue;
        dtIgnore[t * D + d] = gtIgnore[m];
        dtMatched[t * D + d] = ids[m] !== 0 ? 1 : 0;
        gtUsed[t * G + m] = 1; // detection ids are 1..n, so COCOeval's gtm > 0 test is "used"
      }
    }
  }
  for (let d = 0; d < D; d++) {
    const area = dts[d].area;
    if (!(area < lo || area > hi)) continue;
    for (let t = 0; t < T; t++) if (!dtMatched[t * D + d]) dtIgnore[t * D + d] = 1;
  }
  return { dtScores, dtMatched, dtIgnore, gtIgnore };
}
