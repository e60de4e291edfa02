import * as tf from '@tensorflow/tfjs-core';
import { ValueError } from '@residual/core';
import { withTensors, type Transform } from './transform.js';

/** ImageNet channel means (RGB), torchvision's detection default. */
export const IMAGENET_MEAN: readonly [number, number, number] = [0.485, 0.456, 0.406];
/** ImageNet channel standard deviations (RGB), torchvision's detection default. */
export const IMAGENET_STD: readonly [number, number, number] = [0.229, 0.224, 0.225];

/**
 * `(image − mean[c]) / std[c]` per channel in float32, as torchvision's `F.normalize` and
 * `GeneralizedRCNNTransform.normalize`; the target is unchanged (cloned). Throws ValueError for a
 * mean/std that is not three numbers or a std containing 0.
 */
export function normalize(
  mean: readonly number[] = IMAGENET_MEAN,
  std: readonly number[] = IMAGENET_STD,
): Transform {
  if (mean.length !== 3 || std.length !== 3) {
    throw new ValueError(`normalize: mean and std must have 3 values (RGB), got ${mean.length} and ${std.length}`);
  }
  if (std.some((s) => s === 0)) throw new ValueError(`normalize: std must not contain 0, got [${std.join(', ')}]`);
  return (sample) =>
    withTensors(sample, {
      image: tf.tidy(() => tf.div(tf.sub(sample.image, tf.tensor1d(mean as number[])), tf.tensor1d(std as number[])) as tf.Tensor3D),
    });
}
