import * as tf from '@tensorflow/tfjs-core';
import { ValueError, annToRle, rleArea, rleDecode, type Segmentation, type UncompressedRle } from '@residual/core';
import type { CocoAnnotation } from './coco-json.js';
import type { Target } from './sample.js';

/** How {@link buildCocoTarget} reads annotations. */
export interface CocoTargetOptions {
  /** Decode segmentations to [K,H,W] masks (default true). */
  masks: boolean;
  /** Keep crowd annotations (iscrowd 1) in the target (default true; the `iscrowd` tensor marks them). */
  includeCrowd: boolean;
}

/**
 * The target of one h×w image from its COCO annotations, as torchvision's detection reference
 * (`ConvertCocoPolysToMask`): bbox [x,y,w,h] → (x1,y1,x2,y2) in float32, clamped to [0,w]×[0,h];
 * annotations whose clamped box has x2 ≤ x1 or y2 ≤ y1 are skipped (with their mask, label, area).
 * Unlike that reference, crowd annotations are kept unless `includeCrowd` is false. Masks come from
 * core's `annToRle` (polygons merged, RLE decoded). `label` maps category ids to contiguous labels.
 * `where` prefixes segmentation errors. Returns new tensors; the caller owns them.
 */
export function buildCocoTarget(
  anns: readonly CocoAnnotation[],
  imageId: number,
  h: number,
  w: number,
  label: ReadonlyMap<number, number>,
  options: CocoTargetOptions,
  where: string,
): Target {
  const f32 = Math.fround;
  const kept: { box: number[]; ann: CocoAnnotation }[] = [];
  for (const ann of anns) {
    if (!options.includeCrowd && ann.iscrowd === 1) continue;
    const [x, y, bw, bh] = ann.bbox;
    // torch: float32 tensor, boxes[:, 2:] += boxes[:, :2], then clamp_(0, w) / clamp_(0, h)
    const x1 = clamp(f32(x), w);
    const y1 = clamp(f32(y), h);
    const x2 = clamp(f32(f32(x) + f32(bw)), w);
    const y2 = clamp(f32(f32(y) + f32(bh)), h);
    if (x2 > x1 && y2 > y1) kept.push({ box: [x1, y1, x2, y2], ann });
  }
  const k = kept.length;
  const boxes = new Float32Array(k * 4);
  const labels = new Int32Array(k);
  const iscrowd = new Int32Array(k);
  const area = new Float32Array(k);
  const masks = options.masks ? new Int32Array(k * h * w) : null;
  kept.forEach(({ box, ann }, i) => {
    boxes.set(box, i * 4);
    labels[i] = label.get(ann.category_id) as number;
    iscrowd[i] = ann.iscrowd ?? 0;
    const needRle = masks !== null || (ann.area === undefined && ann.segmentation !== undefined);
    const rle = needRle ? decodeSegmentation(ann, h, w, where) : null;
    area[i] = ann.area ?? (rle ? rleArea(rle) : ann.bbox[2] * ann.bbox[3]);
    if (masks && rle) {
      const bits = rleDecode(rle);
      const base = i * h * w;
      for (let p = 0; p < bits.length; p++) masks[base + p] = bits[p];
    }
  });
  return {
    boxes: tf.tensor2d(boxes, [k, 4], 'float32'),
    labels: tf.tensor1d(labels, 'int32'),
    ...(masks ? { masks: tf.tensor3d(masks, [k, h, w], 'int32') } : {}),
    iscrowd: tf.tensor1d(iscrowd, 'int32'),
    area: tf.tensor1d(area, 'float32'),
    imageId,
  };
}

function clamp(v: number, hi: number): number {
  return v < 0 ? 0 : v > hi ? hi : v;
}

function decodeSegmentation(ann: CocoAnnotation, h: number, w: number, where: string): UncompressedRle {
  try {
    return annToRle(ann.segmentation as Segmentation, h, w);
  } catch (cause) {
    throw Object.assign(new ValueError(`${where}: annotation id ${ann.id}: ${(cause as Error).message}`), { cause });
  }
}
