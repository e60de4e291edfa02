import * as tf from '@tensorflow/tfjs-core';
import { assertShape, ValueError } from '../errors.js';

/**
 * `x[:, ::stride, ::stride, :]` of an NHWC map, differentiable (tfjs has no StridedSlice gradient):
 * a 1×1 average pool with that stride picks exactly rows and columns 0, s, 2s, …
 * Returns [N, ⌈H/s⌉, ⌈W/s⌉, C]; caller owns it.
 */
export function subsample(x: tf.Tensor4D, stride: number): tf.Tensor4D {
  assertShape(x, [-1, -1, -1, -1], 'x', 'subsample');
  if (!Number.isInteger(stride) || stride < 1) throw new ValueError(`subsample: stride must be a positive integer, got ${stride}`);
  return stride === 1 ? tf.clone(x) : tf.avgPool(x, 1, stride, 'valid');
}
