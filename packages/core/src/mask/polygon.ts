import { ValueError } from '../errors.js';
import { checkImageSize, type UncompressedRle } from './rle.js';
import { mergeCounts } from './rle-merge.js';

/**
 * Rasterises one polygon `[x0, y0, x1, y1, …]` (pixels; pixel centres at integer + 0.5 as in COCO)
 * on an h×w image exactly as pycocotools `frPyObjects` / maskApi.c rleFrPoly. Coordinates outside the
 * image are allowed (clipped). Returns uncompressed counts.
 */
export function polygonToRle(polygon: readonly number[], h: number, w: number): UncompressedRle {
  checkImageSize(h, w, 'polygonToRle');
  checkPolygon(polygon, 'polygon', 'polygonToRle');
  return { size: [h, w], counts: polygonCounts(polygon, h, w) };
}

/**
 * Union of several polygons (one COCO object's `segmentation` list) on an h×w image: each is rasterised
 * as `polygonToRle`, then merged as pycocotools `merge(frPyObjects(polygons, h, w))`.
 */
export function polygonsToRle(polygons: readonly (readonly number[])[], h: number, w: number): UncompressedRle {
  checkImageSize(h, w, 'polygonsToRle');
  if (!Array.isArray(polygons) || polygons.length === 0) {
    throw new ValueError(`polygonsToRle: polygons must be a non-empty array of polygons, got ${JSON.stringify(polygons)}`);
  }
  polygons.forEach((p, i) => checkPolygon(p, `polygons[${i}]`, 'polygonsToRle'));
  return { size: [h, w], counts: mergeCounts(polygons.map((p) => polygonCounts(p, h, w)), false) };
}

function checkPolygon(p: readonly number[], name: string, where: string): void {
  if (!Array.isArray(p) || p.length < 2 || p.length % 2 !== 0 || !p.every(Number.isFinite)) {
    const got = Array.isArray(p) ? `${p.length} values${p.every(Number.isFinite) ? '' : ' (not all finite)'}` : typeof p;
    throw new ValueError(`${where}: ${name} must be [x0, y0, x1, y1, …] (an even number ≥ 2 of finite numbers), got ${got}`);
  }
}

const byValue = (p: number, q: number): number => p - q;

// C's (int) cast of a double: truncation toward zero; NaN and out-of-range give INT_MIN on x86-64
// (cvttsd2si), which rleFrPoly hits for a repeated vertex (0/0 slope) but never reads back.
function cInt(v: number): number {
  return v > -2147483649 && v < 2147483648 ? v | 0 : -2147483648;
}

/**
 * maskApi.c rleFrPoly on a validated polygon: the vertices are scaled ×5 and rounded, every edge is
 * walked densely (one step per unit of the longer axis), the points where the walk changes column are
 * turned back into pixel columns with their first covered row, and the sorted column-major boundary
 * positions become runs.
 */
export function polygonCounts(xy: readonly number[], h: number, w: number): number[] {
  if (h === 0 || w === 0) return [0]; // the C code divides garbage here; an empty image has one empty run
  const scale = 5;
  const k = xy.length >> 1;
  const x = new Array<number>(k + 1);
  const y = new Array<number>(k + 1);
  for (let j = 0; j < k; j++) x[j] = cInt(scale * xy[j * 2] + 0.5);
  for (let j = 0; j < k; j++) y[j] = cInt(scale * xy[j * 2 + 1] + 0.5);
  x[k] = x[0];
  y[k] = y[0];
  let m = 0;
  for (let j = 0; j < k; j++) m += Math.max(Math.abs(x[j] - x[j + 1]), Math.abs(y[j] - y[j + 1])) + 1;
  const u = new Int32Array(m);
  const v = new Int32Array(m);
  m = 0;
  for (let j = 0; j < k; j++) {
    let xs = x[j];
    let xe = x[j + 1];
    let ys = y[j];
    let ye = y[j + 1];
    const dx = Math.abs(xe - xs);
    const dy = Math.abs(ys - ye);
    const flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
    if (flip) {
      [xs, xe] = [xe, xs];
      [ys, ye] = [ye, ys];
    }
    const s = dx >= dy ? (ye - ys) / dx : (xe - xs) / dy;
    if (dx >= dy) {
      for (let d = 0; d <= dx; d++) {
        const t = flip ? dx - d : d;
        u[m] = t + xs;
        v[m] = cInt(ys + s * t + 0.5);
        m++;
      }
    } else {
      for (let d = 0; d <= dy; d++) {
        const t = flip ? dy - d : d;
        v[m] = t + ys;
        u[m] = cInt(xs + s * t + 0.5);
        m++;
      }
    }
  }
  // boundary points where the walk changes column, downsampled back to pixel (column, first row)
  const a: number[] = [];
  for (let j = 1; j < m; j++) {
    if (u[j] === u[j - 1]) continue;
    const xd = ((u[j] < u[j - 1] ? u[j] : u[j] - 1) + 0.5) / scale - 0.5;
    if (xd % 1 !== 0 || xd < 0 || xd > w - 1) continue;
    let yd = ((v[j] < v[j - 1] ? v[j] : v[j - 1]) + 0.5) / scale - 0.5;
    if (yd < 0) yd = 0;
    else if (yd > h) yd = h;
    const yi = yd | 0; // yd ∈ [0, h]: ceil without a global call
    a.push(xd * h + (yi < yd ? yi + 1 : yi));
  }
  a.push(h * w);
  a.sort(byValue);
  let prev = 0;
  for (let j = 0; j < a.length; j++) {
    const t = a[j];
    a[j] -= prev;
    prev = t;
  }
  // a zero gap means two boundaries at one position: they cancel, so fold the next run into the last
  const counts = [a[0]];
  let j = 1;
  while (j < a.length) {
    if (a[j] > 0) counts.push(a[j++]);
    else {
      j++;
      if (j < a.length) counts[counts.length - 1] += a[j++];
    }
  }
  return counts;
}
