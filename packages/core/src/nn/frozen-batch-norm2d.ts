import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, ValueError, formatShape } from '../errors.js';
import { Module } from './module.js';

/** Options of {@link FrozenBatchNorm2d}. */
export interface FrozenBatchNorm2dOptions {
  /** Default 1e-5; torchvision's COCO_V1 detection weights need 0 (parity-spec §1.3). */
  eps?: number;
}

/**
 * torchvision.ops.FrozenBatchNorm2d on NHWC input: fixed per-channel affine from buffers only
 * (weight, bias, running_mean, running_var; no parameters). A `num_batches_tracked` key in a
 * loaded state dict is dropped silently, as torchvision does.
 */
export class FrozenBatchNorm2d extends Module {
  readonly numFeatures: number;
  /** Mutable so that builders can apply `frozenBnEps` after construction (torchvision's overwrite_eps). */
  eps: number;
  /** γ [C] buffer (owned by this module). */
  readonly weight: tf.Variable;
  /** β [C] buffer (owned by this module). */
  readonly bias: tf.Variable;
  /** [C] buffer (owned by this module). */
  readonly runningMean: tf.Variable;
  /** [C] buffer (owned by this module). */
  readonly runningVar: tf.Variable;

  constructor(numFeatures: number, options: FrozenBatchNorm2dOptions = {}) {
    super();
    if (!Number.isInteger(numFeatures) || numFeatures < 1) {
      throw new ValueError(`FrozenBatchNorm2d: numFeatures must be a positive integer, got ${numFeatures}`);
    }
    this.numFeatures = numFeatures;
    this.eps = options.eps ?? 1e-5;
    this.weight = this.registerBuffer('weight', tf.ones([numFeatures]));
    this.bias = this.registerBuffer('bias', tf.zeros([numFeatures]));
    this.runningMean = this.registerBuffer('running_mean', tf.zeros([numFeatures]));
    this.runningVar = this.registerBuffer('running_var', tf.ones([numFeatures]));
    this.ignoredStateDictKeys.add('num_batches_tracked');
  }

  /** x [N,H,W,C] → x·scale + shift with scale = w·rsqrt(rv + eps), shift = b − rm·scale; caller owns. */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    if (x.rank !== 4 || x.shape[3] !== this.numFeatures) {
      throw new ShapeError(
        `FrozenBatchNorm2d.forward: x must be NHWC [N,H,W,${this.numFeatures}], got ${formatShape(x.shape)}`,
      );
    }
    return tf.tidy(() => {
      // Same operation order as torchvision, so eps = 0 reproduces its rounding.
      const scale = tf.mul(this.weight, tf.rsqrt(tf.add(this.runningVar, this.eps)));
      const shift = tf.sub(this.bias, tf.mul(this.runningMean, scale));
      return tf.add(tf.mul(x, scale), shift);
    });
  }
}
