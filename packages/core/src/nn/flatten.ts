import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, formatShape } from '../errors.js';
import { Module } from './module.js';

/**
 * torch.nn.Flatten (start_dim 1): x [N, ...] → [N, ∏rest]. A rank-4 input is taken as NHWC and
 * flattened in torch's C,H,W order (transposed to NCHW first, parity-spec §0), so a following
 * Linear can load torch weights unchanged. Other ranks flatten in their own order.
 */
export class Flatten extends Module {
  /** [N, ...] → [N, D]; caller owns the result. */
  forward(x: tf.Tensor): tf.Tensor2D {
    if (x.rank < 2) throw new ShapeError(`Flatten.forward: x must have rank >= 2, got ${formatShape(x.shape)}`);
    return tf.tidy(() => {
      const t = x.rank === 4 ? tf.transpose(x, [0, 3, 1, 2]) : x; // NHWC → NCHW
      return tf.reshape(t, [x.shape[0], x.shape.slice(1).reduce((a, b) => a * b, 1)]);
    });
  }
}
