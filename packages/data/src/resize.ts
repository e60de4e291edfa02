import * as tf from '@tensorflow/tfjs-core';
import { ValueError, type Generator } from '@residual/core';
import type { Sample } from './sample.js';
import { withTensors, type Transform } from './transform.js';

/**
 * Options of {@link resize}: either torchvision's detection rule (`minSize` for the short side,
 * capped so the long side is at most `maxSize`; a list of `minSize` values draws one per call from
 * `generator`, as `GeneralizedRCNNTransform` in training) or a fixed output `size` [h, w].
 */
export type ResizeOptions =
  | { minSize: number | readonly number[]; maxSize: number; generator?: Generator }
  | { size: readonly [number, number] };

/**
 * Output size [h', w'] of torchvision 0.14's `_resize_image_and_masks` for an h×w image:
 * `scale = min(f32(1/min(h,w))·minSize, f32(1/max(h,w))·maxSize)` in float32 (torch evaluates
 * `float / tensor` as a float32 reciprocal and product), then `floor(side · scale)` in double.
 */
export function resizeOutputSize(height: number, width: number, minSize: number, maxSize: number): [number, number] {
  const f32 = Math.fround;
  const mn = Math.min(height, width);
  const mx = Math.max(height, width);
  const scale = Math.min(f32(f32(1 / mn) * f32(minSize)), f32(f32(1 / mx) * f32(maxSize)));
  return [Math.floor(height * scale), Math.floor(width * scale)];
}

/**
 * Resizes an image with its target as torchvision's `GeneralizedRCNNTransform` (parity-spec §4.2):
 * image bilinear (align_corners=False, no antialias), masks nearest (torch's legacy 'nearest':
 * `src = min(floor(dst · f32(in/out)), in − 1)`), boxes × `f32(w'/w)` and `f32(h'/h)`. Labels, iscrowd
 * and area are copied unchanged (torchvision does not rescale `area` either). Returns new tensors.
 */
export function resize(options: ResizeOptions): Transform {
  if ('size' in options) {
    const [h, w] = options.size;
    if (!(Number.isInteger(h) && h > 0 && Number.isInteger(w) && w > 0)) {
      throw new ValueError(`resize: size must be [h, w] (positive integers), got [${options.size.join(', ')}]`);
    }
    return (sample) => resizeTo(sample, h, w);
  }
  const minSizes = typeof options.minSize === 'number' ? [options.minSize] : [...options.minSize];
  const { maxSize, generator } = options;
  if (minSizes.length === 0 || !minSizes.every((s) => s > 0) || !(maxSize > 0)) {
    throw new ValueError(`resize: minSize and maxSize must be positive, got minSize [${minSizes.join(', ')}], maxSize ${maxSize}`);
  }
  if (minSizes.length > 1 && !generator) {
    throw new ValueError(`resize: a generator is required to draw one of ${minSizes.length} minSize values`);
  }
  return (sample) => {
    const s = minSizes.length === 1 ? minSizes[0] : minSizes[(generator as Generator).randint(minSizes.length)];
    const [h, w] = sample.image.shape;
    const [oh, ow] = resizeOutputSize(h, w, s, maxSize);
    return resizeTo(sample, oh, ow);
  };
}

function resizeTo(sample: Sample, oh: number, ow: number): Sample {
  const [h, w] = sample.image.shape;
  const f32 = Math.fround;
  const changes = tf.tidy(() => {
    const image = tf.image.resizeBilinear(sample.image, [oh, ow], false, true);
    const ratios = tf.tensor1d([f32(ow / w), f32(oh / h), f32(ow / w), f32(oh / h)]);
    const boxes = tf.mul(sample.target.boxes, ratios) as tf.Tensor2D;
    const m = sample.target.masks;
    return {
      image,
      boxes,
      ...(m ? { masks: resizeMasksNearest(m, h, w, oh, ow) } : {}),
    };
  });
  return withTensors(sample, changes);
}

function resizeMasksNearest(masks: tf.Tensor3D, h: number, w: number, oh: number, ow: number): tf.Tensor3D {
  // tfjs' gather mis-shapes an empty [0,H,W] input, so zero instances get an explicit empty tensor.
  if (masks.shape[0] === 0) return tf.zeros([0, oh, ow], masks.dtype) as tf.Tensor3D;
  return tf.gather(tf.gather(masks, nearestIndices(h, oh), 1), nearestIndices(w, ow), 2);
}

/** Source index of each output index for torch's legacy nearest interpolation (int32 [out]). */
function nearestIndices(inSize: number, outSize: number): tf.Tensor1D {
  const f32 = Math.fround;
  const floor = Math.floor;
  const scale = f32(inSize / outSize);
  const idx = new Int32Array(outSize);
  // f32(dst · scale): the double product of two float32 values is exact, so one rounding matches torch
  for (let i = 0; i < outSize; i++) idx[i] = Math.min(floor(f32(i * scale)), inSize - 1);
  return tf.tensor1d(idx, 'int32');
}
