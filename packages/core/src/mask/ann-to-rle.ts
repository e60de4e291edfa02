import { ValueError, formatShape } from '../errors.js';
import { checkImageSize, rleCounts, type Rle, type UncompressedRle } from './rle.js';
import { polygonsToRle } from './polygon.js';

/** A COCO annotation's `segmentation`: a list of polygons, or an RLE (uncompressed or compressed). */
export type Segmentation = number[][] | Rle;

/**
 * The RLE of a COCO `segmentation` on an h×w image, as pycocotools `COCO.annToRLE`: polygons are
 * rasterised and merged (`frPyObjects` + `merge`), an RLE is decoded. Always returns uncompressed counts.
 * Stricter than the reference: an RLE whose size is not [h, w] and an empty polygon list throw
 * ValueError, and so does a first polygon of ≤ 4 numbers (pycocotools mistakes it for a box and fails).
 */
export function annToRle(segmentation: Segmentation, h: number, w: number): UncompressedRle {
  checkImageSize(h, w, 'annToRle');
  if (Array.isArray(segmentation)) {
    if (segmentation.length === 0) throw new ValueError('annToRle: segmentation is an empty polygon list');
    const first = segmentation[0];
    if (!Array.isArray(first) || first.length <= 4) {
      const got = Array.isArray(first) ? `${first.length} numbers` : typeof first;
      throw new ValueError(`annToRle: segmentation[0] must be a polygon of at least 3 points (6 numbers), got ${got}`);
    }
    return polygonsToRle(segmentation, h, w);
  }
  const counts = rleCounts(segmentation, 'segmentation', 'annToRle');
  if (segmentation.size[0] !== h || segmentation.size[1] !== w) {
    throw new ValueError(
      `annToRle: segmentation.size is ${formatShape(segmentation.size)}, expected ${formatShape([h, w])} (the image size)`,
    );
  }
  return { size: [h, w], counts: counts.slice() };
}
