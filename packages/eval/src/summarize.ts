import type { Accumulated } from './accumulate.js';
import type { EvalParams } from './eval-params.js';
import { formatFixed } from './format-fixed.js';
import { numpyMean } from './numpy-mean.js';

/** One of COCOeval's summary numbers: AP (mean precision) or AR (mean recall) over a slice. */
export interface SummaryQuery {
  ap: boolean;
  /** A single IoU threshold (matched by exact equality, as numpy's `==`), or all of them. */
  iouThr?: number;
  areaLbl: string;
  maxDets: number;
  /** Restrict to one category index (detectron2's per-category table); all by default. */
  k?: number;
  /** Select this maxDets index instead of matching `maxDets` by value (detectron2 reads index −1). */
  mIndex?: number;
}

/**
 * pycocotools `_summarize`: the mean of the entries > −1 of precision `[T,R,K,A,M]` (or recall
 * `[T,K,A,M]`) at the selected thresholds, area label and maxDets value, −1 when none. An area label
 * or maxDets value that is not among the parameters selects nothing (−1), as in the reference.
 */
export function summarizeValue(acc: Accumulated, params: EvalParams, q: SummaryQuery): number {
  const { iouThrs, areaRngLbl, maxDets } = params;
  const src = q.ap ? acc.precision : acc.recall;
  const [, R, K, A, M] = q.ap ? src.dims : [src.dims[0], 1, ...src.dims.slice(1)];
  const ts = iouThrs.flatMap((t, i) => (q.iouThr === undefined || t === q.iouThr ? [i] : []));
  const ks = q.k === undefined ? Array.from({ length: K }, (_, k) => k) : [q.k];
  const aind = areaRngLbl.flatMap((l, i) => (l === q.areaLbl ? [i] : []));
  const mind = q.mIndex !== undefined ? [q.mIndex] : maxDets.flatMap((m, i) => (m === q.maxDets ? [i] : []));
  // numpy broadcasts aind (≤ 1 entry) with mind; flat (a, m) offsets in that order
  const am = aind.flatMap((a) => mind.map((m) => a * M + m));
  const values: number[] = [];
  for (let ti = 0; ti < ts.length; ti++) {
    for (let r = 0; r < R; r++) {
      for (let ki = 0; ki < ks.length; ki++) {
        const base = ((ts[ti] * R + r) * K + ks[ki]) * A * M;
        for (let j = 0; j < am.length; j++) {
          const v = src.data[base + am[j]];
          if (v > -1) values.push(v);
        }
      }
    }
  }
  return values.length === 0 ? -1 : numpyMean(values);
}

/** One printed line of COCOeval's summary, byte for byte (Python's format spec and rounding). */
export function summaryLine(params: EvalParams, q: SummaryQuery, value: number): string {
  const { iouThrs } = params;
  const title = q.ap ? 'Average Precision' : 'Average Recall';
  const type = q.ap ? '(AP)' : '(AR)';
  const iou =
    q.iouThr === undefined
      ? `${formatFixed(iouThrs[0], 2)}:${formatFixed(iouThrs[iouThrs.length - 1], 2)}`
      : formatFixed(q.iouThr, 2);
  return (
    ` ${title.padEnd(18)} ${type} @[ IoU=${iou.padEnd(9)} | area=${q.areaLbl.padStart(6)} |` +
    ` maxDets=${String(q.maxDets).padStart(3)} ] = ${formatFixed(value, 3)}`
  );
}

/**
 * The twelve queries of `_summarizeDets`, in order. The first uses maxDets=100 whatever the
 * parameters are (the reference hard-codes it); the others use maxDets[0..2].
 */
export function detectionQueries(maxDets: readonly number[]): SummaryQuery[] {
  const [m0, m1, m2] = maxDets;
  return [
    { ap: true, areaLbl: 'all', maxDets: 100 },
    { ap: true, iouThr: 0.5, areaLbl: 'all', maxDets: m2 },
    { ap: true, iouThr: 0.75, areaLbl: 'all', maxDets: m2 },
    { ap: true, areaLbl: 'small', maxDets: m2 },
    { ap: true, areaLbl: 'medium', maxDets: m2 },
    { ap: true, areaLbl: 'large', maxDets: m2 },
    { ap: false, areaLbl: 'all', maxDets: m0 },
    { ap: false, areaLbl: 'all', maxDets: m1 },
    { ap: false, areaLbl: 'all', maxDets: m2 },
    { ap: false, areaLbl: 'small', maxDets: m2 },
    { ap: false, areaLbl: 'medium', maxDets: m2 },
    { ap: false, areaLbl: 'large', maxDets: m2 },
  ];
}
