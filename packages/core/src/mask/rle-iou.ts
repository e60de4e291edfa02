import { ValueError, formatShape } from '../errors.js';
import { areaOf, rleCounts, type Rle } from './rle.js';
import { countsToBbox, type Bbox } from './rle-bbox.js';

/**
 * IoU of every detection mask with every ground-truth mask (pycocotools `iou` on RLEs), as
 * `ious[d][g]` (dt.length rows of gt.length numbers). Where `iscrowd[g]` is set the score is
 * intersection / area(dt) instead of intersection / union (COCO's crowd regions). As the reference,
 * pairs whose bounding boxes do not overlap score 0 without looking at the runs. All RLEs must share
 * one size (pycocotools answers −1 for a mismatch; this throws ValueError).
 */
export function rleIou(dt: Rle[], gt: Rle[], iscrowd: ReadonlyArray<boolean | number>): number[][] {
  checkCrowd(gt.length, iscrowd, 'rleIou');
  const dc = dt.map((r, i) => rleCounts(r, `dt[${i}]`, 'rleIou'));
  const gc = gt.map((r, i) => rleCounts(r, `gt[${i}]`, 'rleIou'));
  const size = dt.length > 0 ? dt[0].size : gt.length > 0 ? gt[0].size : [0, 0];
  const checkSize = (r: Rle, name: string): void => {
    if (r.size[0] !== size[0] || r.size[1] !== size[1]) {
      throw new ValueError(`rleIou: ${name}.size is ${formatShape(r.size)}, expected ${formatShape(size)} (all masks of one image)`);
    }
  };
  dt.forEach((r, i) => checkSize(r, `dt[${i}]`));
  gt.forEach((r, i) => checkSize(r, `gt[${i}]`));
  const [h, w] = size;
  const ious = boxIous(
    dc.map((c) => countsToBbox(c, h, w)),
    gc.map((c) => countsToBbox(c, h, w)),
    iscrowd,
  );
  for (let d = 0; d < dt.length; d++) {
    for (let g = 0; g < gt.length; g++) {
      if (ious[d][g] > 0) ious[d][g] = countsIou(dc[d], gc[g], !!iscrowd[g]);
    }
  }
  return ious;
}

/**
 * IoU of COCO boxes `[x, y, w, h]` (pycocotools `iou` on boxes), as `ious[d][g]`; `iscrowd[g]` makes
 * it intersection / area(dt). Boxes that only touch score 0.
 */
export function bboxIou(
  dt: ReadonlyArray<readonly number[]>,
  gt: ReadonlyArray<readonly number[]>,
  iscrowd: ReadonlyArray<boolean | number>,
): number[][] {
  checkCrowd(gt.length, iscrowd, 'bboxIou');
  const check = (b: readonly number[], name: string): void => {
    if (!Array.isArray(b) || b.length !== 4 || !b.every(Number.isFinite)) {
      throw new ValueError(`bboxIou: ${name} must be [x, y, w, h] (4 finite numbers), got ${JSON.stringify(b)}`);
    }
  };
  dt.forEach((b, i) => check(b, `dt[${i}]`));
  gt.forEach((b, i) => check(b, `gt[${i}]`));
  return boxIous(dt, gt, iscrowd);
}

function checkCrowd(n: number, iscrowd: ReadonlyArray<boolean | number>, where: string): void {
  if (!Array.isArray(iscrowd) || iscrowd.length !== n) {
    const got = Array.isArray(iscrowd) ? `${iscrowd.length} entries` : typeof iscrowd;
    throw new ValueError(`${where}: iscrowd must have one entry per gt (${n}), got ${got}`);
  }
}

// maskApi.c bbIou
function boxIous(
  dt: ReadonlyArray<Bbox | readonly number[]>,
  gt: ReadonlyArray<Bbox | readonly number[]>,
  iscrowd: ReadonlyArray<boolean | number>,
): number[][] {
  const out = dt.map(() => new Array<number>(gt.length).fill(0));
  for (let g = 0; g < gt.length; g++) {
    const G = gt[g];
    const ga = G[2] * G[3];
    const crowd = !!iscrowd[g];
    for (let d = 0; d < dt.length; d++) {
      const D = dt[d];
      const da = D[2] * D[3];
      const dx2 = D[2] + D[0];
      const gx2 = G[2] + G[0];
      const dy2 = D[3] + D[1];
      const gy2 = G[3] + G[1];
      const w = (dx2 < gx2 ? dx2 : gx2) - (D[0] > G[0] ? D[0] : G[0]);
      if (w <= 0) continue;
      const h = (dy2 < gy2 ? dy2 : gy2) - (D[1] > G[1] ? D[1] : G[1]);
      if (h <= 0) continue;
      const i = w * h;
      out[d][g] = i / (crowd ? da : da + ga - i);
    }
  }
  return out;
}

// maskApi.c rleIou's inner walk over both run lists (both non-empty: their boxes overlap).
function countsIou(A: readonly number[], B: readonly number[], crowd: boolean): number {
  let ca = A[0];
  let cb = B[0];
  let va = false;
  let vb = false;
  let a = 1;
  let b = 1;
  let inter = 0;
  let union = 0;
  let ct = 1;
  while (ct > 0) {
    const c = ca < cb ? ca : cb;
    if (va || vb) {
      union += c;
      if (va && vb) inter += c;
    }
    ct = 0;
    ca -= c;
    if (!ca && a < A.length) {
      ca = A[a++];
      va = !va;
    }
    ct += ca;
    cb -= c;
    if (!cb && b < B.length) {
      cb = B[b++];
      vb = !vb;
    }
    ct += cb;
  }
  if (inter === 0) union = 1;
  else if (crowd) union = areaOf(A);
  return inter / union;
}
