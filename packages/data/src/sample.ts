import type * as tf from '@tensorflow/tfjs-core';

/**
 * Detection / instance-segmentation targets of one image, in the image's pixel coordinates.
 * Every tensor belongs to whoever holds the sample (see {@link disposeSample}).
 */
export interface Target {
  /** [K,4] float32, (x1, y1, x2, y2) in pixels, x2 > x1 and y2 > y1. */
  boxes: tf.Tensor2D;
  /** [K] int32 contiguous labels 1..numClasses (0 is the background and never appears). */
  labels: tf.Tensor1D;
  /** [K,H,W] int32 of 0/1, one full-image mask per instance; absent when masks are not decoded. */
  masks?: tf.Tensor3D;
  /** [K] int32, 1 for a crowd region (COCO `iscrowd`), else 0. */
  iscrowd: tf.Tensor1D;
  /** [K] float32 COCO `area` (segment area in pixels², as in the annotation file). */
  area: tf.Tensor1D;
  /** The COCO image id. */
  imageId: number;
}

/** One training example: an image [H,W,3] float32 (NHWC without N) and its target. */
export interface Sample {
  /** [H,W,3] float32; in [0,1] until `normalize` is applied. */
  image: tf.Tensor3D;
  target: Target;
}

/** Disposes every tensor of a sample (image and target). */
export function disposeSample(sample: Sample): void {
  const t = sample.target;
  sample.image.dispose();
  t.boxes.dispose();
  t.labels.dispose();
  t.masks?.dispose();
  t.iscrowd.dispose();
  t.area.dispose();
}
