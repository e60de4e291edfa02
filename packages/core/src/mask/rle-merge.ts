import { ValueError, formatShape } from '../errors.js';
import { rleCounts, type Rle, type UncompressedRle } from './rle.js';

/**
 * Union (default) or intersection of RLEs of one size (pycocotools `merge`), with uncompressed counts.
 * An empty list gives `{ size: [0, 0], counts: [] }` as pycocotools does; RLEs of different sizes
 * throw ValueError (pycocotools silently returns that empty RLE instead).
 */
export function rleMerge(rles: Rle[], intersect = false): UncompressedRle {
  if (!Array.isArray(rles)) throw new ValueError(`rleMerge: rles must be an array of RLEs, got ${typeof rles}`);
  if (rles.length === 0) return { size: [0, 0], counts: [] };
  const all = rles.map((r, i) => rleCounts(r, `rles[${i}]`, 'rleMerge'));
  const [h, w] = rles[0].size;
  for (let i = 1; i < rles.length; i++) {
    if (rles[i].size[0] !== h || rles[i].size[1] !== w) {
      throw new ValueError(
        `rleMerge: rles[${i}].size is ${formatShape(rles[i].size)}, expected ${formatShape([h, w])} (the size of rles[0])`,
      );
    }
  }
  return { size: [h, w], counts: mergeCounts(all, intersect) };
}

/** maskApi.c rleMerge over validated run lists of one size; returns a new array. */
export function mergeCounts(all: readonly (readonly number[])[], intersect: boolean): number[] {
  let acc = all[0].slice();
  for (let i = 1; i < all.length; i++) acc = mergeTwo(acc, all[i], intersect);
  return acc;
}

// Walks both run lists at once; a run of the result ends wherever the merged value flips.
function mergeTwo(aIn: readonly number[], bIn: readonly number[], intersect: boolean): number[] {
  const A = aIn.length > 0 ? aIn : [0];
  const B = bIn.length > 0 ? bIn : [0];
  const out: number[] = [];
  let ca = A[0];
  let cb = B[0];
  let v = false;
  let va = false;
  let vb = false;
  let a = 1;
  let b = 1;
  let cc = 0;
  let ct = 1;
  while (ct > 0) {
    const c = ca < cb ? ca : cb;
    cc += c;
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
    const vp: boolean = v;
    v = intersect ? va && vb : va || vb;
    if (v !== vp || ct === 0) {
      out.push(cc);
      cc = 0;
    }
  }
  return out;
}
