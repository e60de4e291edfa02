import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, formatShape } from '../errors.js';
import { Module } from './module.js';
import { toPair, type Size2 } from './pair.js';
import { checkPoolPadding, poolOutputSize } from './pool-geometry.js';
import { spreadByStride } from '../kernels/spatial-window.js';

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

interface Geometry {
  kernel: [number, number];
  stride: [number, number];
  dilation: [number, number];
  padding: [number, number];
  out: [number, number];
  /** −∞ cells after the input so that every tap's out·stride cells fit. */
  after: [number, number];
}

/**
 * torch.nn.MaxPool2d on NHWC input. Padded cells are −∞ (never selected), as in torch; windows
 * that hang over the edge in ceil mode see only real cells. The gradient goes to the first
 * maximum of each window in scan order, as torch's kernel (computed here: tfjs-wasm's
 * MaxPoolGrad drops gradients on some inputs).
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
    const pair = (f: (i: number) => number): [number, number] => [f(0), f(1)];
    const out = pair((i) =>
      poolOutputSize(x.shape[i + 1], this.kernelSize[i], this.stride[i], this.padding[i], this.dilation[i], this.ceilMode),
    );
    if (out[0] < 1 || out[1] < 1) {
      throw new ShapeError(`MaxPool2d.forward: input ${x.shape[1]}x${x.shape[2]} is too small, output would be ${out[0]}x${out[1]}`);
    }
    const span = pair((i) => this.dilation[i] * (this.kernelSize[i] - 1) + out[i] * this.stride[i]);
    const g: Geometry = {
      kernel: this.kernelSize,
      stride: this.stride,
      dilation: this.dilation,
      padding: this.padding,
      out,
      after: pair((i) => Math.max(0, span[i] - x.shape[i + 1] - this.padding[i])),
    };
    const pool = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const input = args[0] as tf.Tensor4D;
      (args[1] as tf.GradSaveFunc)([input]);
      return {
        value: tf.tidy(() => poolForward(input, g)),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.tidy(() => poolBackward(saved[0] as tf.Tensor4D, dy as tf.Tensor4D, g)),
      };
    });
    return pool(x) as tf.Tensor4D;
  }
}

function padInput(x: tf.Tensor4D, g: Geometry): tf.Tensor4D {
  const [ph, pw] = g.padding;
  return tf.pad(x, [[0, 0], [ph, g.after[0]], [pw, g.after[1]], [0, 0]], -Infinity);
}

function poolForward(x: tf.Tensor4D, g: Geometry): tf.Tensor4D {
  const xp = padInput(x, g);
  if (g.dilation[0] !== 1 || g.dilation[1] !== 1) return maxOverTaps(xp, g);
  const y = tf.maxPool(xp, g.kernel, g.stride, 'valid');
  return tf.slice(y, [0, 0, 0, 0], [x.shape[0], g.out[0], g.out[1], x.shape[3]]);
}

/** Cells (tap·dilation + o·stride) for o < out, as [N,oh,ow,C] (no StridedSlice: it has no gradient). */
function tapView(xp: tf.Tensor4D, g: Geometry, i: number, j: number): tf.Tensor4D {
  const [n, , , c] = xp.shape;
  const [oh, ow] = g.out;
  const [sh, sw] = g.stride;
  const v = tf.slice(xp, [0, i * g.dilation[0], j * g.dilation[1], 0], [n, oh * sh, ow * sw, c]);
  // Rank 4 throughout: wasm slices and pads of rank 6 take a generic loop ~100× slower.
  const picked = tf.slice(tf.reshape(v, [n * oh, sh, ow, sw * c]), [0, 0, 0, 0], [n * oh, 1, ow, c]);
  return tf.reshape(picked, [n, oh, ow, c]);
}

/** The adjoint of {@link tapView}: puts [N,oh,ow,C] values back at their cells of xp's shape. */
function scatterTap(v: tf.Tensor4D, shape: number[], g: Geometry, i: number, j: number): tf.Tensor4D {
  const [, oh, ow] = v.shape;
  const [sh, sw] = g.stride;
  const spread = spreadByStride(v, sh, sw); // [N, oh·sh, ow·sw, C]
  const top = i * g.dilation[0];
  const left = j * g.dilation[1];
  return tf.pad(spread, [
    [0, 0],
    [top, shape[1] - top - oh * sh],
    [left, shape[2] - left - ow * sw],
    [0, 0],
  ]);
}

function maxOverTaps(xp: tf.Tensor4D, g: Geometry): tf.Tensor4D {
  let m = tapView(xp, g, 0, 0);
  for (let i = 0; i < g.kernel[0]; i++) {
    for (let j = 0; j < g.kernel[1]; j++) if (i || j) m = tf.maximum(m, tapView(xp, g, i, j));
  }
  return m;
}

// Each window's gradient goes to its first maximal tap in scan order (torch's argmax).
function poolBackward(x: tf.Tensor4D, dy: tf.Tensor4D, g: Geometry): tf.Tensor4D {
  const xp = padInput(x, g);
  const y = maxOverTaps(xp, g);
  let taken = tf.cast(tf.zerosLike(y), 'bool');
  let dxp = tf.zerosLike(xp);
  for (let i = 0; i < g.kernel[0]; i++) {
    for (let j = 0; j < g.kernel[1]; j++) {
      const hit = tf.logicalAnd(tf.equal(tapView(xp, g, i, j), y), tf.logicalNot(taken));
      taken = tf.logicalOr(taken, hit);
      dxp = tf.add(dxp, scatterTap(tf.where(hit, dy, tf.zerosLike(dy)), xp.shape, g, i, j));
    }
  }
  return tf.slice(dxp, [0, g.padding[0], g.padding[1], 0], x.shape);
}
