import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, ValueError, formatShape } from '../errors.js';
import { defaultGenerator, type Generator } from '../generator.js';
import { dilateFilter } from './dilate-filter.js';
import { kaimingUniform } from './init.js';
import { conv2dLayout, identityLayout } from './layout.js';
import { Module } from './module.js';
import { toPair, type Size2 } from './pair.js';

/** Options of {@link Conv2d} (torch.nn.Conv2d's defaults). */
export interface Conv2dOptions {
  stride?: Size2;
  /** Symmetric zero padding per side (never TF 'same'). */
  padding?: Size2;
  dilation?: Size2;
  groups?: number;
  bias?: boolean;
  /** Source of the default init (default: the process-wide generator). */
  generator?: Generator;
}

/**
 * torch.nn.Conv2d on NHWC tensors. Parameters: `weight` (tfjs filter [kH,kW,in/groups,out]; torch
 * [out,in/groups,kH,kW] in state dicts) and optional `bias` [out]. Default init as torch:
 * weight kaiming_uniform(a=√5) = U(±1/√fanIn), bias U(±1/√fanIn), fanIn = in/groups·kH·kW.
 */
export class Conv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  /** tfjs filter [kH,kW,in/groups,out] (owned by this module). */
  readonly weight: tf.Variable;
  /** [out], or null without bias (owned by this module). */
  readonly bias: tf.Variable | null;

  constructor(inChannels: number, outChannels: number, kernelSize: Size2, options: Conv2dOptions = {}) {
    super();
    const where = 'Conv2d';
    this.groups = options.groups ?? 1;
    checkChannels(inChannels, outChannels, this.groups, where);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = toPair(kernelSize, 'kernelSize', where);
    this.stride = toPair(options.stride ?? 1, 'stride', where);
    this.padding = toPair(options.padding ?? 0, 'padding', where, 0);
    this.dilation = toPair(options.dilation ?? 1, 'dilation', where);
    const gen = options.generator ?? defaultGenerator();
    const torchShape = [outChannels, inChannels / this.groups, ...this.kernelSize];
    const w = kaimingUniform(torchShape, { a: Math.sqrt(5) }, gen);
    this.weight = this.registerParameter('weight', tf.tidy(() => conv2dLayout.fromTorch(w)), conv2dLayout);
    w.dispose();
    const bound = 1 / Math.sqrt(torchShape[1] * this.kernelSize[0] * this.kernelSize[1]);
    this.bias = (options.bias ?? true) ? this.registerParameter('bias', gen.uniform([outChannels], -bound, bound), identityLayout) : null;
  }

  /** x [N,H,W,in] → [N,H',W',out] with H' = ⌊(H + 2p − d(k−1) − 1)/s⌋ + 1; caller owns the result. */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    checkInput(x, this.inChannels, 'Conv2d.forward');
    const [h, w] = [x.shape[1], x.shape[2]];
    const [ph, pw] = this.padding;
    const eh = this.dilation[0] * (this.kernelSize[0] - 1) + 1;
    const ew = this.dilation[1] * (this.kernelSize[1] - 1) + 1;
    if (h + 2 * ph < eh || w + 2 * pw < ew) {
      throw new ShapeError(
        `Conv2d.forward: padded input ${h + 2 * ph}x${w + 2 * pw} is smaller than the dilated kernel ${eh}x${ew}`,
      );
    }
    return tf.tidy(() => {
      // Explicit symmetric padding inside the conv (never 'same'): no padded copy and no pad gradient.
      const pad: ExplicitPadding = [[0, 0], [ph, ph], [pw, pw], [0, 0]];
      const filter = dilateFilter(this.weight as tf.Tensor4D, this.dilation);
      const y = groupedConv(x, filter, this.groups, this.stride, pad);
      return this.bias ? tf.add(y, this.bias) : y;
    });
  }
}

type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];

/** Conv of NHWC input, explicitly padded, with filter [kH,kW,in/groups,out]; torch's channel grouping. */
function groupedConv(x: tf.Tensor4D, filter: tf.Tensor4D, groups: number, stride: [number, number], pad: ExplicitPadding): tf.Tensor4D {
  const inCh = x.shape[3];
  const [kh, kw, , outCh] = filter.shape;
  if (groups === 1) return tf.conv2d(x, filter, stride, pad);
  if (groups === inCh) {
    // Depthwise: torch output o = c·m + j (m = out/in) is tfjs's depthwise channel order.
    return tf.depthwiseConv2d(x, tf.reshape(filter, [kh, kw, inCh, outCh / inCh]) as tf.Tensor4D, stride, pad) as tf.Tensor4D;
  }
  const xs = tf.split(x, groups, 3) as tf.Tensor4D[];
  const ws = tf.split(filter, groups, 3) as tf.Tensor4D[];
  return tf.concat(xs.map((xg, g) => tf.conv2d(xg, ws[g], stride, pad)), 3);
}

/** Throws ValueError unless channels are positive integers divisible by groups. */
export function checkChannels(inChannels: number, outChannels: number, groups: number, where: string): void {
  for (const [name, v] of [['inChannels', inChannels], ['outChannels', outChannels], ['groups', groups]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new ValueError(`${where}: ${name} must be a positive integer, got ${v}`);
  }
  if (inChannels % groups || outChannels % groups) {
    throw new ValueError(
      `${where}: inChannels (${inChannels}) and outChannels (${outChannels}) must be divisible by groups (${groups})`,
    );
  }
}

/** Throws ShapeError unless x is NHWC [N,H,W,channels]. */
export function checkInput(x: tf.Tensor, channels: number, where: string): void {
  if (x.rank !== 4 || x.shape[3] !== channels) {
    throw new ShapeError(`${where}: x must be NHWC [N,H,W,${channels}], got ${formatShape(x.shape)}`);
  }
}
