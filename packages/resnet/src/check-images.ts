import type * as tf from '@tensorflow/tfjs-core';
import { ShapeError, ValueError, formatShape } from '@residual/core';

/**
 * Throws unless `x` is a float32 NHWC image batch [N,H,W,3] (ShapeError for the shape, ValueError
 * for the dtype); `where` names the calling function in the message.
 */
export function assertImages(x: tf.Tensor, where: string): asserts x is tf.Tensor4D {
  if (x.rank !== 4 || x.shape[3] !== 3) {
    throw new ShapeError(`${where}: x must be NHWC images [N,H,W,3], got ${formatShape(x.shape)}`);
  }
  if (x.dtype !== 'float32') throw new ValueError(`${where}: x must be float32, got ${x.dtype}`);
}
