import * as tf from '@tensorflow/tfjs-core';
import { ValueError, assertShape } from '@residual/core';
import { IMAGENET_MEAN, IMAGENET_STD } from '@residual/data';

/** Options of {@link classificationTransform} (torchvision's `ImageClassification` arguments). */
export interface ClassificationTransformOptions {
  /** Shorter side after resizing; default 256. */
  resizeSize?: number;
  /** Side of the square center crop; default 224. */
  cropSize?: number;
  mean?: readonly number[];
  std?: readonly number[];
}

/** torchvision 0.14 `_compute_resized_output_size` for one size: short side → `size`, long side truncated. */
export function resizedShortSide(height: number, width: number, size: number): [number, number] {
  const [short, long] = width <= height ? [width, height] : [height, width];
  const newLong = Math.trunc((size * long) / short); // Python int(size * long / short)
  return width <= height ? [newLong, size] : [size, newLong];
}

/** Python's round() of a multiple of 0.5: halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  return x - f !== 0.5 ? Math.round(x) : f % 2 === 0 ? f : f + 1;
}

/**
 * ImageNet evaluation preprocessing as torchvision 0.14's `ResNet50_Weights.IMAGENET1K_V1.transforms()`
 * (`ImageClassification(crop_size=224, resize_size=256)`) applied to a float image tensor: bilinear
 * resize of the shorter side to `resizeSize` (align_corners=False, no antialias — the tensor path;
 * PIL input would antialias), center crop `cropSize` (offsets rounded half to even, as Python's
 * round), then `(x − mean) / std`. `image` is [H,W,3] float32 in [0,1] (e.g. from
 * @residual/data's readImage); returns a new [cropSize,cropSize,3] tensor the caller owns.
 * Images whose resized sides are smaller than the crop are refused (torchvision would zero-pad).
 */
export function classificationTransform(image: tf.Tensor3D, options: ClassificationTransformOptions = {}): tf.Tensor3D {
  const { resizeSize = 256, cropSize = 224, mean = IMAGENET_MEAN, std = IMAGENET_STD } = options;
  assertShape(image, [-1, -1, 3], 'image', 'classificationTransform');
  const [h, w] = image.shape;
  const [oh, ow] = resizedShortSide(h, w, resizeSize);
  if (oh < cropSize || ow < cropSize) {
    throw new ValueError(`classificationTransform: a ${h}×${w} image resizes to ${oh}×${ow}, smaller than the ${cropSize}×${cropSize} crop`);
  }
  const top = roundHalfEven((oh - cropSize) / 2);
  const left = roundHalfEven((ow - cropSize) / 2);
  return tf.tidy(() => {
    const resized = tf.image.resizeBilinear(image, [oh, ow], false, true);
    const cropped = tf.slice(resized, [top, left, 0], [cropSize, cropSize, 3]);
    return tf.div(tf.sub(cropped, tf.tensor1d([...mean])), tf.tensor1d([...std])) as tf.Tensor3D;
  });
}
