import * as tf from '@tensorflow/tfjs-core';
import { ValueError } from '../errors.js';

/**
 * The `tf.Tensor` behind the kernel input `name` of `kernel`. tfjs ops hand kernels their input
 * tensors as they are; a bare `TensorInfo` (another kernel calling this one) is wrapped in a new
 * tensor that shares its data. Borrowed: call inside a `tf.tidy`, which frees the wrapper, never
 * the caller's data. Throws a ValueError when the input is missing.
 */
export function kernelInput<R extends tf.Rank>(
  inputs: tf.NamedTensorInfoMap,
  name: string,
  kernel: string
): tf.Tensor<R> {
  const info = inputs[name];
  if (info === undefined) throw new ValueError(`${kernel}: input "${name}" is missing`);
  if (info instanceof tf.Tensor) return info as tf.Tensor<R>;
  return tf.engine().makeTensorFromTensorInfo(info) as tf.Tensor<R>;
}
