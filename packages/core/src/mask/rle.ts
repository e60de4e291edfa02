import { ShapeError, ValueError, formatShape } from '../errors.js';
import { decodeCountsString } from './counts-string.js';

/**
 * A COCO run-length encoded binary mask, exactly as pycocotools: `size` is `[height, width]` and the
 * runs go down the columns (column-major / Fortran order), alternating background and foreground and
 * starting with background (a mask whose first pixel is set starts with a 0 run). `counts` is either
 * the uncompressed run list or COCO's compressed string (see `rleToString`). Every function here
 * accepts both; the ones that build an RLE return uncompressed `counts`.
 */
export type Rle = { size: [number, number]; counts: number[] | string };

/** An RLE whose counts are the uncompressed run list, as this module's builders return. */
export type UncompressedRle = { size: [number, number]; counts: number[] };

/** Checks `size` and returns `[h, w]`; messages name `where` and `name`. */
export function checkRleSize(size: unknown, name: string, where: string): [number, number] {
  const ok = Array.isArray(size) && size.length === 2 && size.every((d) => Number.isInteger(d) && d >= 0);
  if (!ok) {
    const got = Array.isArray(size) ? formatShape(size as number[]) : String(size);
    throw new ValueError(`${where}: ${name}.size must be [h, w] (non-negative integers), got ${got}`);
  }
  return [size[0] as number, size[1] as number];
}

/** Throws ValueError unless h and w are non-negative integers. */
export function checkImageSize(h: number, w: number, where: string): void {
  if (!Number.isInteger(h) || h < 0 || !Number.isInteger(w) || w < 0) {
    throw new ValueError(`${where}: h and w must be non-negative integers, got h=${h}, w=${w}`);
  }
}

/**
 * Validates an RLE and returns its uncompressed counts (the array itself when already uncompressed:
 * borrowed, do not mutate). Throws ValueError unless the runs are non-negative integers summing to h·w.
 */
export function rleCounts(rle: Rle, name: string, where: string): readonly number[] {
  if (rle === null || typeof rle !== 'object') {
    throw new ValueError(`${where}: ${name} must be an RLE { size, counts }, got ${String(rle)}`);
  }
  const [h, w] = checkRleSize(rle.size, name, where);
  let counts: readonly number[];
  if (typeof rle.counts === 'string') {
    counts = decodeCountsString(rle.counts, `${name}.counts`, where);
  } else if (Array.isArray(rle.counts)) {
    counts = rle.counts;
    for (let i = 0; i < counts.length; i++) {
      const c = counts[i];
      if (typeof c !== 'number' || !(c >= 0) || c % 1 !== 0) {
        throw new ValueError(`${where}: ${name}.counts[${i}] must be a non-negative integer, got ${c}`);
      }
    }
  } else {
    throw new ValueError(`${where}: ${name}.counts must be a number[] or a string, got ${typeof rle.counts}`);
  }
  checkCountsSum(counts, h, w, `${name}.counts`, where);
  return counts;
}

/** Throws ValueError unless the runs sum to h·w (every pixel covered exactly once). */
export function checkCountsSum(counts: readonly number[], h: number, w: number, name: string, where: string): void {
  let sum = 0;
  for (let i = 0; i < counts.length; i++) sum += counts[i];
  if (sum !== h * w) {
    throw new ValueError(`${where}: ${name} must sum to h·w = ${h * w} for size ${formatShape([h, w])}, got ${sum}`);
  }
}

/**
 * Encodes a row-major binary mask of `shape` [h, w] (any numeric array; nonzero = 1) as COCO RLE
 * with uncompressed counts (pycocotools `rleEncode`, which scans column by column).
 */
export function encodeMask(mask: ArrayLike<number>, shape: readonly [number, number], where: string): UncompressedRle {
  const ok = Array.isArray(shape) && shape.length === 2 && shape.every((d) => Number.isInteger(d) && d >= 0);
  if (!ok) throw new ShapeError(`${where}: shape must be [h, w] (non-negative integers), got ${String(shape)}`);
  const [h, w] = shape;
  if (mask.length !== h * w) {
    throw new ShapeError(`${where}: mask must have h·w = ${h * w} elements for shape ${formatShape(shape)}, got ${mask.length}`);
  }
  const counts: number[] = [];
  let run = 0;
  let prev = false;
  for (let x = 0; x < w; x++) {
    for (let i = x; i < h * w; i += w) {
      const v = mask[i] !== 0;
      if (v !== prev) {
        counts.push(run);
        run = 0;
        prev = v;
      }
      run++;
    }
  }
  counts.push(run);
  return { size: [h, w], counts };
}

/**
 * Decodes an RLE to a row-major Uint8Array of h·w values in {0, 1} (pycocotools `decode`, transposed
 * from its Fortran order). Throws ValueError for a malformed RLE.
 */
export function rleDecode(rle: Rle): Uint8Array {
  const counts = rleCounts(rle, 'rle', 'rleDecode');
  const [h, w] = rle.size;
  const out = new Uint8Array(h * w);
  let p = 0;
  for (let j = 0; j < counts.length; j++) {
    if (j % 2 === 1 && counts[j] > 0) {
      // column-major index p = x·h + y → row-major y·w + x, walking down the column and wrapping
      let y = p % h;
      let x = (p - y) / h;
      for (let n = counts[j]; n > 0; n--) {
        out[y * w + x] = 1;
        if (++y === h) {
          y = 0;
          x++;
        }
      }
    }
    p += counts[j];
  }
  return out;
}

/** Number of foreground pixels of each RLE (pycocotools `area`: the sum of the odd runs). */
export function rleArea(rles: Rle[]): number[];
/** Number of foreground pixels of one RLE. */
export function rleArea(rle: Rle): number;
export function rleArea(rles: Rle | Rle[]): number | number[] {
  if (Array.isArray(rles)) return rles.map((r, i) => areaOf(rleCounts(r, `rles[${i}]`, 'rleArea')));
  return areaOf(rleCounts(rles, 'rle', 'rleArea'));
}

/** Sum of the foreground (odd) runs. */
export function areaOf(counts: readonly number[]): number {
  let a = 0;
  for (let j = 1; j < counts.length; j += 2) a += counts[j];
  return a;
}
