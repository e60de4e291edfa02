import { ValueError } from '../errors.js';
import { checkCountsSum, checkRleSize, rleCounts, type Rle, type UncompressedRle } from './rle.js';
import { decodeCountsString, encodeCountsString } from './counts-string.js';

/**
 * COCO's compressed counts string of an RLE (pycocotools `encode(...)['counts']`, as a string rather
 * than Python bytes). A string `counts` is validated and returned as is.
 */
export function rleToString(rle: Rle): string {
  const counts = rleCounts(rle, 'rle', 'rleToString');
  return typeof rle.counts === 'string' ? rle.counts : encodeCountsString(counts);
}

/**
 * Parses COCO's compressed counts for a mask of `size` [h, w] into an RLE with uncompressed counts.
 * Throws ValueError for a corrupt string or runs that do not sum to h·w.
 */
export function rleFromString(counts: string, size: readonly [number, number]): UncompressedRle {
  const [h, w] = checkRleSize(size, 'rle', 'rleFromString');
  if (typeof counts !== 'string') {
    throw new ValueError(`rleFromString: counts must be a string, got ${typeof counts}`);
  }
  const runs = decodeCountsString(counts, 'counts', 'rleFromString');
  checkCountsSum(runs, h, w, 'counts', 'rleFromString');
  return { size: [h, w], counts: runs };
}

/** The same RLE with compressed string counts, as COCO result files store segmentations. */
export function compressRle(rle: Rle): { size: [number, number]; counts: string } {
  const counts = rleCounts(rle, 'rle', 'compressRle');
  return {
    size: [rle.size[0], rle.size[1]],
    counts: typeof rle.counts === 'string' ? rle.counts : encodeCountsString(counts),
  };
}
