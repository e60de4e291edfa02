import type * as tf from '@tensorflow/tfjs-core';

/**
 * A padded image batch (torchvision's ImageList): `tensor` [N,Hb,Wb,C] NHWC, and per image its
 * unpadded size `[h, w]` in batch pixels. Anchor strides use the padded size; proposals are clipped
 * to the unpadded sizes.
 */
export interface ImageBatch {
  tensor: tf.Tensor4D;
  imageSizes: ReadonlyArray<readonly [number, number]>;
}
