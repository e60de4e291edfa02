import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, ValueError, formatShape } from '../errors.js';
import { Module } from './module.js';

/** Options of {@link BatchNorm2d} and {@link BatchNorm1d} (torch's defaults). */
export interface BatchNormOptions {
  eps?: number;
  /** Weight of the new batch in the running averages; null → cumulative average (default 0.1). */
  momentum?: number | null;
  /** Learnable per-channel `weight` (γ) and `bias` (β) (default true). */
  affine?: boolean;
  /** Keep running_mean/running_var/num_batches_tracked buffers and use them in eval (default true). */
  trackRunningStats?: boolean;
}

// Identity in the forward pass, zero gradient: the running-stat updates read batch statistics
// through it so that they can never feed a gradient (tfjs has no stopGradient op).
const detach = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
  value: tf.clone(args[0] as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
}));

/**
 * Shared body of torch's BatchNorm1d/2d for channel-last tensors (channels = last dim).
 * Train mode normalises with the batch mean and biased variance and updates the running stats
 * (unbiased variance) in place; eval mode uses the running stats. State-dict keys, in order:
 * weight, bias, running_mean, running_var, num_batches_tracked (int32 scalar).
 */
export abstract class BatchNorm extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  /** γ [C], or null when `affine` is false (owned by this module). */
  readonly weight: tf.Variable | null;
  /** β [C], or null when `affine` is false (owned by this module). */
  readonly bias: tf.Variable | null;
  /** [C], or null without running stats (owned by this module). */
  readonly runningMean: tf.Variable | null;
  /** [C], or null without running stats (owned by this module). */
  readonly runningVar: tf.Variable | null;
  /** int32 scalar, or null without running stats (owned by this module). */
  readonly numBatchesTracked: tf.Variable | null;

  protected constructor(numFeatures: number, options: BatchNormOptions, where: string) {
    super();
    if (!Number.isInteger(numFeatures) || numFeatures < 1) {
      throw new ValueError(`${where}: numFeatures must be a positive integer, got ${numFeatures}`);
    }
    this.numFeatures = numFeatures;
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum === undefined ? 0.1 : options.momentum;
    this.affine = options.affine ?? true;
    this.trackRunningStats = options.trackRunningStats ?? true;
    this.weight = this.affine ? this.registerParameter('weight', tf.ones([numFeatures])) : null;
    this.bias = this.affine ? this.registerParameter('bias', tf.zeros([numFeatures])) : null;
    if (this.trackRunningStats) {
      this.runningMean = this.registerBuffer('running_mean', tf.zeros([numFeatures]));
      this.runningVar = this.registerBuffer('running_var', tf.ones([numFeatures]));
      this.numBatchesTracked = this.registerBuffer('num_batches_tracked', tf.scalar(0, 'int32'));
    } else {
      this.runningMean = this.runningVar = this.numBatchesTracked = null;
    }
  }

  /** Throws ShapeError unless `x` has a rank this layer accepts and C channels last. */
  protected abstract checkInput(x: tf.Tensor): void;

  /**
   * Normalises x (channels last) per channel; caller owns the result. In train mode with running
   * stats this also updates running_mean, running_var and num_batches_tracked (safe inside
   * tf.variableGrads: the updates carry no gradient and leave no tensors behind).
   */
  forward<T extends tf.Tensor>(x: T): T {
    this.checkInput(x);
    const useBatchStats = this.training || !this.trackRunningStats;
    const count = x.size / this.numFeatures;
    if (this.training && count <= 1) {
      throw new ValueError(
        `${this.constructor.name}.forward: expected more than 1 value per channel when training, got input ${formatShape(x.shape)}`,
      );
    }
    return tf.tidy(() => {
      const axes = x.shape.slice(0, -1).map((_, i) => i);
      let mean: tf.Tensor;
      let variance: tf.Tensor;
      if (useBatchStats) {
        ({ mean, variance } = tf.moments(x, axes)); // biased variance, as torch normalises
        if (this.training && this.trackRunningStats) this.updateRunningStats(mean, variance, count);
      } else {
        mean = this.runningMean as tf.Tensor;
        variance = this.runningVar as tf.Tensor;
      }
      let y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.eps)));
      if (this.weight && this.bias) y = tf.add(tf.mul(y, this.weight), this.bias);
      return y as T;
    });
  }

  private updateRunningStats(mean: tf.Tensor, variance: tf.Tensor, count: number): void {
    const rm = this.runningMean as tf.Variable;
    const rv = this.runningVar as tf.Variable;
    const nbt = this.numBatchesTracked as tf.Variable;
    const tracked = tf.add(nbt, tf.scalar(1, 'int32'));
    // momentum null → cumulative moving average with factor 1/num_batches_tracked (torch).
    const factor = this.momentum === null ? tf.div(1, tf.cast(tracked, 'float32')) : tf.scalar(this.momentum);
    const keep = tf.sub(1, factor);
    const unbiased = tf.mul(detach(variance), count / (count - 1));
    rm.assign(tf.add(tf.mul(rm, keep), tf.mul(detach(mean), factor)));
    rv.assign(tf.add(tf.mul(rv, keep), tf.mul(unbiased, factor)));
    nbt.assign(tracked);
  }
}

/** torch.nn.BatchNorm2d on NHWC input [N,H,W,C]; see {@link BatchNorm}. */
export class BatchNorm2d extends BatchNorm {
  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super(numFeatures, options, 'BatchNorm2d');
  }

  protected override checkInput(x: tf.Tensor): void {
    if (x.rank !== 4 || x.shape[3] !== this.numFeatures) {
      throw new ShapeError(`BatchNorm2d.forward: x must be NHWC [N,H,W,${this.numFeatures}], got ${formatShape(x.shape)}`);
    }
  }
}

/**
 * torch.nn.BatchNorm1d on [N,C] or channel-last [N,L,C] input (torch's [N,C,L] transposed);
 * see {@link BatchNorm}. MAE's norm-pix head uses it with `affine: false`.
 */
export class BatchNorm1d extends BatchNorm {
  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super(numFeatures, options, 'BatchNorm1d');
  }

  protected override checkInput(x: tf.Tensor): void {
    if ((x.rank !== 2 && x.rank !== 3) || x.shape[x.rank - 1] !== this.numFeatures) {
      throw new ShapeError(
        `BatchNorm1d.forward: x must be [N,${this.numFeatures}] or [N,L,${this.numFeatures}], got ${formatShape(x.shape)}`,
      );
    }
  }
}
