import * as tf from '@tensorflow/tfjs-core';
import { ValueError, compressRle, maskToRle } from '@residual/core';
import type { Detection } from '@residual/faster-rcnn';
import type { CompressedRle } from './paste-masks-in-image.js';

/** One row of a COCO results file (pycocotools `loadRes`): bbox is [x, y, width, height] in pixels. */
export interface CocoDetectionResult {
  image_id: number;
  category_id: number;
  bbox: [number, number, number, number];
  score: number;
  /** Compressed COCO RLE of the mask thresholded at 0.5 (present when the detections carry masks). */
  segmentation?: CompressedRle;
}

/** Maps a model label (contiguous, 0 = background) to a COCO category id: a function or a lookup table. */
export type LabelToCategoryId = ((label: number) => number) | readonly number[] | Readonly<Record<number, number>>;

/**
 * COCO results rows for the detections of each image (`detections[i]` belongs to `imageIds[i]`): boxes
 * x1,y1,x2,y2 → [x, y, w, h], scores, labels mapped by `labelToCategoryId` (default: identity, as for
 * torchvision's 91-class COCO weights), and — when a detection has `masks` — `segmentation`: float
 * masks [K,H,W] are thresholded at 0.5 and encoded one at a time, RLE masks (`maskFormat: 'rle'`) are
 * used as they are. Reads the tensors back synchronously; disposes nothing.
 */
export function toCocoResults(
  detections: readonly Detection[],
  imageIds: readonly number[],
  labelToCategoryId: LabelToCategoryId = (label) => label,
): CocoDetectionResult[] {
  if (detections.length !== imageIds.length) {
    throw new ValueError(`toCocoResults: imageIds must have one entry per image (${detections.length}), got ${imageIds.length}`);
  }
  const category = (label: number): number => {
    const id = typeof labelToCategoryId === 'function' ? labelToCategoryId(label) : (labelToCategoryId as Record<number, number>)[label];
    if (!Number.isFinite(id)) throw new ValueError(`toCocoResults: no category id for label ${label}`);
    return id;
  };
  const out: CocoDetectionResult[] = [];
  detections.forEach((d, i) => {
    const boxes = d.boxes.dataSync();
    const scores = d.scores.dataSync();
    const labels = d.labels.dataSync();
    const masks = (d as { masks?: tf.Tensor3D | CompressedRle[] }).masks;
    if (masks !== undefined && (masks instanceof tf.Tensor ? masks.shape[0] : masks.length) !== scores.length) {
      throw new ValueError(`toCocoResults: detections[${i}] has ${scores.length} boxes but a different number of masks`);
    }
    for (let k = 0; k < scores.length; k++) {
      const [x1, y1, x2, y2] = [boxes[4 * k], boxes[4 * k + 1], boxes[4 * k + 2], boxes[4 * k + 3]];
      const row: CocoDetectionResult = { image_id: imageIds[i], category_id: category(labels[k]), bbox: [x1, y1, x2 - x1, y2 - y1], score: scores[k] };
      if (masks !== undefined) row.segmentation = masks instanceof tf.Tensor ? encodeMask(masks, k) : masks[k];
      out.push(row);
    }
  });
  return out;
}

// Mask k of [K,H,W] probabilities, thresholded (> 0.5) and encoded; only one H×W mask is read at a time.
function encodeMask(masks: tf.Tensor3D, k: number): CompressedRle {
  const [, h, w] = masks.shape;
  const binary = tf.tidy(() => tf.cast(tf.greater(tf.reshape(tf.slice(masks, [k, 0, 0], [1, h, w]), [h, w]), 0.5), 'int32') as tf.Tensor2D);
  try {
    return compressRle(maskToRle(binary)) as CompressedRle;
  } finally {
    binary.dispose();
  }
}
