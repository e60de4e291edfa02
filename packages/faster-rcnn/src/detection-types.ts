import type * as tf from '@tensorflow/tfjs-core';
import type { Rle } from '@residual/core';

/**
 * A padded batch (torchvision's `ImageList`): `tensor` [N,Hb,Wb,3] NHWC float32, normalised, each image
 * in the top-left corner and zeros elsewhere; `imageSizes[i]` = `[h, w]` of image i after resizing,
 * before padding.
 */
export type ImageList = {
  tensor: tf.Tensor4D;
  imageSizes: Array<[number, number]>;
};

/**
 * Training targets of one image: `boxes` float32 [K,4] (x1,y1,x2,y2, input pixels), `labels` int32 [K]
 * (contiguous, 0 = background), optional `masks` [K,H,W] (int32, bool or float 0/1) for Mask R-CNN.
 * K = 0 (an image with no objects) is valid.
 */
export type DetectionTarget = {
  boxes: tf.Tensor2D;
  labels: tf.Tensor1D;
  masks?: tf.Tensor3D;
};

/**
 * Detections of one image: `boxes` float32 [K,4] (x1,y1,x2,y2 pixels), `scores` float32 [K] (descending),
 * `labels` int32 [K], and for instance segmentation (Mask R-CNN) `masks`, one per detection in the same
 * order: float32 [K,H,W] probabilities in [0,1] pasted into the input image (`predict`; threshold them
 * yourself, usually > 0.5), float32 [K,M,M] box-relative probabilities straight out of a mask head
 * (before the transform pastes them), or K COCO RLEs of `> 0.5` (Mask R-CNN's `maskFormat: 'rle'`).
 * Faster R-CNN leaves `masks` undefined. The caller owns every tensor.
 */
export type Detection = {
  boxes: tf.Tensor2D;
  scores: tf.Tensor1D;
  labels: tf.Tensor1D;
  masks?: tf.Tensor3D | Rle[];
};

/** Loss names, as torchvision's dict keys. */
export type LossName = 'loss_classifier' | 'loss_box_reg' | 'loss_objectness' | 'loss_rpn_box_reg' | 'loss_mask';

/** Losses of one forward pass (scalars the caller owns and usually sums); `{}` in eval mode. */
export type Losses = Partial<Record<LossName, tf.Scalar>>;
