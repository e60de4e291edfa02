import type * as tf from '@tensorflow/tfjs-core';
import type { Detection } from '@residual/faster-rcnn';
import type { CompressedRle } from './paste-masks-in-image.js';

/**
 * Detections of one image with instance masks (caller owns every tensor): boxes, scores, labels as
 * {@link Detection}, and `masks` float32 probabilities — [K,M,M] (28×28, box-relative) straight out of
 * the mask head, [K,H,W] in the input image after pasting (`predict`, `forward` in eval).
 */
export type MaskDetection = Detection & { masks: tf.Tensor3D };

/** Detections whose masks were thresholded (> 0.5) and encoded as COCO compressed RLE, one per box. */
export type RleMaskDetection = Detection & { masks: CompressedRle[] };

/** True when `d` carries a tensor of masks. */
export function hasMasks(d: Detection): d is MaskDetection {
  return 'masks' in d && (d as { masks?: unknown }).masks !== undefined;
}
