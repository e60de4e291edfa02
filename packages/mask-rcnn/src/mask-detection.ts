import * as tf from '@tensorflow/tfjs-core';
import type { Detection } from '@residual/faster-rcnn';
import type { CompressedRle } from './paste-masks-in-image.js';

/**
 * A {@link Detection} whose `masks` are present as a tensor (caller owns every tensor): boxes, scores,
 * labels, and `masks` float32 probabilities — [K,M,M] (28×28, box-relative) straight out of the mask
 * head, [K,H,W] in the input image after pasting (`predict`, `forward` in eval).
 */
export type MaskDetection = Omit<Detection, 'masks'> & { masks: tf.Tensor3D };

/**
 * A {@link Detection} whose masks were thresholded (> 0.5) and encoded as COCO compressed RLE, one per
 * box in detection order (`predict` with `maskFormat: 'rle'`).
 */
export type RleMaskDetection = Omit<Detection, 'masks'> & { masks: CompressedRle[] };

/** True when `d` carries its masks as a tensor ([K,M,M] or [K,H,W]); false without masks or with RLE masks. */
export function hasMasks(d: Detection): d is MaskDetection {
  return d.masks instanceof tf.Tensor;
}
