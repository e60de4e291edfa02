import * as tf from '@tensorflow/tfjs-core';
import { GeneralizedRCNNTransform, type Detection } from '@residual/faster-rcnn';
import { hasMasks } from './mask-detection.js';
import { pasteMasksInImage, pasteMasksToRle } from './paste-masks-in-image.js';

/** How {@link MaskRCNNTransform.postprocess} delivers masks: float [K,H,W] probabilities, or RLE of `> 0.5`. */
export type MaskFormat = 'full' | 'rle';

/**
 * {@link GeneralizedRCNNTransform} whose `postprocess` also pastes each detection's M×M mask
 * probabilities into its original image ({@link pasteMasksInImage} on the rescaled boxes), as
 * torchvision's transform does for Mask R-CNN. With `maskFormat = 'rle'` the pasted masks are
 * thresholded at 0.5 and streamed to COCO compressed RLE one at a time ({@link pasteMasksToRle}).
 */
export class MaskRCNNTransform extends GeneralizedRCNNTransform {
  /** Output format of the pasted masks (default 'full'); `MaskRCNN.predict` sets it for one call. */
  maskFormat: MaskFormat = 'full';

  /**
   * Rescales boxes to `originalSizes` and pastes masks (when the detections carry them). Returns new
   * detections the caller owns; the inputs are not disposed, also when a bad mask or box throws.
   */
  override postprocess(
    detections: readonly Detection[],
    imageSizes: ReadonlyArray<readonly [number, number]>,
    originalSizes: ReadonlyArray<readonly [number, number]>,
  ): Detection[] {
    const out = super.postprocess(detections, imageSizes, originalSizes);
    detections.forEach((d, i) => {
      if (!hasMasks(d)) return;
      const size = originalSizes[i];
      try {
        Object.assign(out[i], {
          masks: this.maskFormat === 'rle' ? pasteMasksToRle(d.masks, out[i].boxes, size) : pasteMasksInImage(d.masks, out[i].boxes, size),
        });
      } catch (e) {
        // Masks not pasted yet are the caller's (carried over by super.postprocess): only pasted ones are ours.
        tf.dispose(out.flatMap((o, j) => [o.boxes, o.scores, o.labels, ...(hasMasks(o) && o.masks !== detections[j].masks ? [o.masks] : [])]));
        throw e;
      }
    });
    return out;
  }
}
