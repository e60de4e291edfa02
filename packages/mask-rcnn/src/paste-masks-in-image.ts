import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, ValueError, compressRle, formatShape, maskToRle } from '@residual/core';
import { resizeBilinear } from '@residual/faster-rcnn';

// torchvision roi_heads.py paste_masks_in_image / expand_masks / expand_boxes / paste_mask_in_image
// (parity-spec §9.4). Each mask is resized and pasted on its own, so only one box-sized buffer is alive
// at a time; the integer boxes come from float32 arithmetic in torch's order.

const { fround, max, min, trunc } = Math; // bound once: global lookups are slow inside jest's vm

/** A COCO RLE with compressed counts (pycocotools' `encode`, counts as a string). */
export type CompressedRle = { size: [number, number]; counts: string };

/** Options of {@link pasteMasksInImage} and {@link pasteMasksToRle}. */
export interface PasteMasksOptions {
  /** Zero rows/columns added around each M×M mask before resizing (torchvision's `padding`). Default 1. */
  padding?: number;
}

/** Where one mask lands ({@link maskPlacement}): the integer (expanded) box and the clipped image region it covers. */
export interface MaskPlacement {
  /** Left/top of the expanded integer box (may be negative). */
  bx: number;
  by: number;
  /** Its width and height in pixels (at least 1). */
  w: number;
  h: number;
  /** The image region it covers: columns [x0, xe), rows [y0, ye) (empty when xe ≤ x0 or ye ≤ y0). */
  x0: number;
  xe: number;
  y0: number;
  ye: number;
}

/**
 * Where box `i` of `b` (flat [K·4], x1 y1 x2 y2) puts its mask in a `height`×`width` image, as
 * torchvision's paste_masks_in_image: expand_boxes by `scale` = (M + 2·padding) / M in float32 (x·0.5,
 * then ·scale), truncated toward zero as `.to(int64)`; then paste_mask_in_image's size (+1 inclusive,
 * at least 1) and clipped region.
 */
export function maskPlacement(b: ArrayLike<number>, i: number, scale: number, height: number, width: number): MaskPlacement {
  const [x1, y1, x2, y2] = [b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]];
  const wHalf = fround(fround(fround(x2 - x1) * 0.5) * scale);
  const hHalf = fround(fround(fround(y2 - y1) * 0.5) * scale);
  const xc = fround(fround(x2 + x1) * 0.5);
  const yc = fround(fround(y2 + y1) * 0.5);
  const bx = trunc(fround(xc - wHalf));
  const by = trunc(fround(yc - hHalf));
  const bx2 = trunc(fround(xc + wHalf));
  const by2 = trunc(fround(yc + hHalf));
  // torch slices with a negative end would count from the far side (or fail); such a box covers nothing here.
  return {
    bx, by, w: max(bx2 - bx + 1, 1), h: max(by2 - by + 1, 1),
    x0: max(bx, 0), xe: min(bx2 + 1, width), y0: max(by, 0), ye: min(by2 + 1, height),
  };
}

function checkArgs(masks: tf.Tensor3D, boxes: tf.Tensor2D, imageSize: readonly [number, number], padding: number, where: string): void {
  if (masks.rank !== 3 || masks.shape[1] !== masks.shape[2]) {
    throw new ShapeError(`${where}: masks must be [K,M,M], got ${formatShape(masks.shape)}`);
  }
  if (boxes.rank !== 2 || boxes.shape[1] !== 4 || boxes.shape[0] !== masks.shape[0]) {
    throw new ShapeError(`${where}: boxes must be [${masks.shape[0]},4] (one per mask), got ${formatShape(boxes.shape)}`);
  }
  if (!imageSize.every((s) => Number.isInteger(s) && s >= 0) || imageSize.length !== 2) {
    throw new ValueError(`${where}: imageSize must be [H, W] (non-negative integers), got [${imageSize.join(', ')}]`);
  }
  if (!Number.isInteger(padding) || padding < 0) throw new ValueError(`${where}: padding must be a non-negative integer, got ${padding}`);
}

/**
 * Calls `visit(k, region, p)` for each mask k with its resized probabilities `region` (row-major h×w,
 * float32) and placement; the buffer is only valid during the call.
 */
function forEachPasted(
  masks: tf.Tensor3D,
  boxes: tf.Tensor2D,
  [height, width]: readonly [number, number],
  padding: number,
  visit: (k: number, region: Float32Array, p: MaskPlacement) => void,
): void {
  const m = masks.shape[1];
  const scale = fround((m + 2 * padding) / m); // python float (M+2p)/M, applied to a float32 tensor as float32
  const b = boxes.dataSync();
  for (let k = 0; k < masks.shape[0]; k++) {
    const p = maskPlacement(b, k, scale, height, width);
    if (p.xe <= p.x0 || p.ye <= p.y0) {
      visit(k, new Float32Array(0), p);
      continue;
    }
    const resized = tf.tidy(() => {
      const mask = tf.reshape(tf.slice(masks, [k, 0, 0], [1, m, m]), [m, m, 1]);
      const padded = tf.pad(mask, [[padding, padding], [padding, padding], [0, 0]]) as tf.Tensor3D; // expand_masks
      return resizeBilinear(padded, p.h, p.w); // F.interpolate(bilinear, align_corners=False) → [h,w,1]
    });
    try {
      visit(k, resized.dataSync() as Float32Array, p);
    } finally {
      resized.dispose();
    }
  }
}

/**
 * torchvision's `paste_masks_in_image`: each M×M probability mask (`masks` [K,M,M] float32) is padded by
 * `padding` (scale (M+2p)/M), its box `boxes[k]` (x1,y1,x2,y2, image pixels) expanded by that scale about
 * its centre and truncated to integers, the padded mask resized bilinearly (align_corners = false) to the
 * box's (y2−y1+1)×(x2−x1+1) and pasted into a zero image of `imageSize` [H,W], clipped at the borders.
 * Returns float32 probabilities [K,H,W] (no threshold), caller owns; inputs are not disposed.
 * Memory: one box-sized buffer at a time plus the K·H·W result; see {@link pasteMasksToRle} for large images.
 */
export function pasteMasksInImage(
  masks: tf.Tensor3D,
  boxes: tf.Tensor2D,
  imageSize: readonly [number, number],
  options: PasteMasksOptions = {},
): tf.Tensor3D {
  const padding = options.padding ?? 1;
  checkArgs(masks, boxes, imageSize, padding, 'pasteMasksInImage');
  const [height, width] = imageSize;
  const out = new Float32Array(masks.shape[0] * height * width);
  forEachPasted(masks, boxes, imageSize, padding, (k, region, p) => {
    const base = k * height * width;
    for (let y = p.y0; y < p.ye; y++) {
      const src = (y - p.by) * p.w - p.bx;
      out.set(region.subarray(src + p.x0, src + p.xe), base + y * width + p.x0);
    }
  });
  return tf.tensor3d(out, [masks.shape[0], height, width]);
}

/**
 * {@link pasteMasksInImage} followed by `> threshold` (default 0.5) and COCO RLE encoding, one mask at a
 * time: memory stays at one H×W byte mask whatever K is. Returns one compressed RLE (`size` [H,W], counts
 * string as pycocotools) per mask.
 */
export function pasteMasksToRle(
  masks: tf.Tensor3D,
  boxes: tf.Tensor2D,
  imageSize: readonly [number, number],
  options: PasteMasksOptions & { threshold?: number } = {},
): CompressedRle[] {
  const padding = options.padding ?? 1;
  const threshold = options.threshold ?? 0.5;
  checkArgs(masks, boxes, imageSize, padding, 'pasteMasksToRle');
  const [height, width] = imageSize;
  const binary = new Uint8Array(height * width);
  const out: CompressedRle[] = [];
  forEachPasted(masks, boxes, imageSize, padding, (_, region, p) => {
    binary.fill(0);
    for (let y = p.y0; y < p.ye; y++) {
      const src = (y - p.by) * p.w - p.bx;
      const dst = y * width;
      for (let x = p.x0; x < p.xe; x++) binary[dst + x] = region[src + x] > threshold ? 1 : 0;
    }
    out.push(compressRle(maskToRle(binary, [height, width])) as CompressedRle);
  });
  return out;
}
