import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, formatShape } from '../errors.js';
import { Module } from './module.js';
import { toPair, type Size2 } from './pair.js';
import { checkPoolPadding, poolOutputSize } from './pool-geometry.js';

/** Options of {@link AvgPool2d} (torch's defaults; ceil_mode is not supported). */
export interface AvgPool2dOptions {
  /** Default: the kernel size. */
  stride?: Size2;
  /** Zero padding per side (at most half the kernel). */
  padding?: Size2;
  /** Count padded zeros in the divisor (default true, as torch). */
  countIncludePad?: boolean;
}

/** torch.nn.AvgPool2d on NHWC input (floor output size). */
export class AvgPool2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly countIncludePad: boolean;

  constructor(kernelSize: Size2, options: AvgPool2dOptions = {}) {
    super();
    const where = 'AvgPool2d';
    this.kernelSize = toPair(kernelSize, 'kernelSize', where);
    this.stride = toPair(options.stride ?? kernelSize, 'stride', where);
    this.padding = toPair(options.padding ?? 0, 'padding', where, 0);
    this.countIncludePad = options.countIncludePad ?? true;
    checkPoolPadding(this.kernelSize, this.padding, where);
  }

  /** x [N,H,W,C] → [N,H',W',C]; caller owns the result. */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    if (x.rank !== 4) throw new ShapeError(`AvgPool2d.forward: x must be NHWC [N,H,W,C], got ${formatShape(x.shape)}`);
    const [, h, w] = x.shape;
    const out = [0, 1].map((i) => poolOutputSize(x.shape[i + 1], this.kernelSize[i], this.stride[i], this.padding[i], 1, false));
    if (out[0] < 1 || out[1] < 1) {
      throw new ShapeError(`AvgPool2d.forward: input ${h}x${w} is too small, output would be ${out[0]}x${out[1]}`);
    }
    const [ph, pw] = this.padding;
    const paddings: [number, number][] = [[0, 0], [ph, ph], [pw, pw], [0, 0]];
    return tf.tidy(() => {
      const y = tf.avgPool(ph || pw ? tf.pad(x, paddings) : x, this.kernelSize, this.stride, 'valid');
      if (this.countIncludePad || !(ph || pw)) return y;
      // Rescale each window's mean from k·k cells to the number of real cells in it.
      const real = tf.avgPool(tf.pad(tf.ones([1, h, w, 1]), paddings) as tf.Tensor4D, this.kernelSize, this.stride, 'valid');
      return tf.div(y, real);
    });
  }
}
