import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, formatShape } from '../errors.js';
import { Module } from './module.js';
import { toPair, type Size2 } from './pair.js';
import { checkPoolPadding, poolOutputSize } from './pool-geometry.js';

/** Options of {@link MaxPool2d} (torch's defaults). */
export interface MaxPool2dOptions {
  /** Default: the kernel size. */
  stride?: Size2;
  /** Implicit −∞ padding per side (at most half the kernel). */
  padding?: Size2;
  dilation?: Size2;
  /** Round the output size up, as torch's ceil_mode (the last window may hang over the edge). */
  ceilMode?: boolean;
}

/**
 * torch.nn.MaxPool2d on NHWC input. Padded cells are −∞ (never selected), as in torch; windows
 * that hang over the edge in ceil mode see only real cells.
 */
export class MaxPool2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly ceilMode: boolean;

  constructor(kernelSize: Size2, options: MaxPool2dOptions = {}) {
    super();
    const where = 'MaxPool2d';
    this.kernelSize = toPair(kernelSize, 'kernelSize', where);
    this.stride = toPair(options.stride ?? kernelSize, 'stride', where);
    this.padding = toPair(options.padding ?? 0, 'padding', where, 0);
    this.dilation = toPair(options.dilation ?? 1, 'dilation', where);
    this.ceilMode = options.ceilMode ?? false;
    checkPoolPadding(this.kernelSize, this.padding, where);
  }

  /** x [N,H,W,C] → [N,H',W',C] (torch's output size rule); caller owns the result. */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    if (x.rank !== 4) throw new ShapeError(`MaxPool2d.forward: x must be NHWC [N,H,W,C], got ${formatShape(x.shape)}`);
    const [n, h, w, c] = x.shape;
    const out = [0, 1].map((i) =>
      poolOutputSize(x.shape[i + 1], this.kernelSize[i], this.stride[i], this.padding[i], this.dilation[i], this.ceilMode),
    );
    if (out[0] < 1 || out[1] < 1) {
      throw new ShapeError(`MaxPool2d.forward: input ${h}x${w} is too small, output would be ${out[0]}x${out[1]}`);
    }
    const eff = [0, 1].map((i) => this.dilation[i] * (this.kernelSize[i] - 1) + 1);
    // Pad so that exactly out[i] windows fit: p before, whatever the last window needs after.
    const after = [0, 1].map((i) => Math.max(0, (out[i] - 1) * this.stride[i] + eff[i] - x.shape[i + 1] - this.padding[i]));
    return tf.tidy(() => {
      const [ph, pw] = this.padding;
      const xp =
        ph || pw || after[0] || after[1]
          ? tf.pad(x, [[0, 0], [ph, after[0]], [pw, after[1]], [0, 0]], -Infinity)
          : x;
      const y =
        this.dilation[0] === 1 && this.dilation[1] === 1
          ? tf.maxPool(xp, this.kernelSize, this.stride, 'valid')
          : this.dilatedMax(xp, out, c);
      return tf.slice(y, [0, 0, 0, 0], [n, out[0], out[1], c]);
    });
  }

  // Max over the k·k strided views; tf.maximum keeps the earlier view on ties, so gradients go to
  // the first maximum in scan order, as torch's kernel.
  private dilatedMax(xp: tf.Tensor4D, out: number[], c: number): tf.Tensor4D {
    let m: tf.Tensor4D | null = null;
    for (let i = 0; i < this.kernelSize[0]; i++) {
      for (let j = 0; j < this.kernelSize[1]; j++) {
        const begin = [0, i * this.dilation[0], j * this.dilation[1], 0];
        const end = [xp.shape[0], begin[1] + (out[0] - 1) * this.stride[0] + 1, begin[2] + (out[1] - 1) * this.stride[1] + 1, c];
        const view = tf.stridedSlice(xp, begin, end, [1, this.stride[0], this.stride[1], 1]) as tf.Tensor4D;
        m = m === null ? view : (tf.maximum(m, view) as tf.Tensor4D);
      }
    }
    return m as tf.Tensor4D;
  }
}
