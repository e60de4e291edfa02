import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, ValueError } from '../errors.js';
import { defaultGenerator, type Generator } from '../generator.js';
import { checkChannels, checkInput } from './conv2d.js';
import { dilateFilter } from './dilate-filter.js';
import { kaimingUniform } from './init.js';
import { conv2dLayout, identityLayout } from './layout.js';
import { Module } from './module.js';
import { toPair, type Size2 } from './pair.js';

/** Options of {@link ConvTranspose2d} (torch.nn.ConvTranspose2d's defaults). */
export interface ConvTranspose2dOptions {
  stride?: Size2;
  /** Crops `padding` rows/cols from each side of the full adjoint output (torch's meaning). */
  padding?: Size2;
  /** Extra rows/cols added on the bottom/right only (must be < stride or < dilation). */
  outputPadding?: Size2;
  groups?: number;
  bias?: boolean;
  dilation?: Size2;
  /** Source of the default init (default: the process-wide generator). */
  generator?: Generator;
}

/**
 * torch.nn.ConvTranspose2d (the adjoint of Conv2d) on NHWC tensors. `weight` is stored as the tfjs
 * filter [kH,kW,out/groups,in] and appears in state dicts as torch's [in,out/groups,kH,kW]
 * (parity-spec §0). Default init as torch, with fanIn = (out/groups)·kH·kW read from that shape.
 */
export class ConvTranspose2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly outputPadding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  /** tfjs filter [kH,kW,out/groups,in] (owned by this module). */
  readonly weight: tf.Variable;
  /** [out], or null without bias (owned by this module). */
  readonly bias: tf.Variable | null;

  constructor(inChannels: number, outChannels: number, kernelSize: Size2, options: ConvTranspose2dOptions = {}) {
    super();
    const where = 'ConvTranspose2d';
    this.groups = options.groups ?? 1;
    checkChannels(inChannels, outChannels, this.groups, where);
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = toPair(kernelSize, 'kernelSize', where);
    this.stride = toPair(options.stride ?? 1, 'stride', where);
    this.padding = toPair(options.padding ?? 0, 'padding', where, 0);
    this.outputPadding = toPair(options.outputPadding ?? 0, 'outputPadding', where, 0);
    this.dilation = toPair(options.dilation ?? 1, 'dilation', where);
    for (let i = 0; i < 2; i++) {
      if (this.outputPadding[i] >= Math.max(this.stride[i], this.dilation[i])) {
        throw new ValueError(
          `${where}: outputPadding must be smaller than stride or dilation, got outputPadding ` +
            `[${this.outputPadding.join(', ')}], stride [${this.stride.join(', ')}], dilation [${this.dilation.join(', ')}]`,
        );
      }
    }
    const gen = options.generator ?? defaultGenerator();
    const torchShape = [inChannels, outChannels / this.groups, ...this.kernelSize];
    const w = kaimingUniform(torchShape, { a: Math.sqrt(5) }, gen);
    this.weight = this.registerParameter('weight', tf.tidy(() => conv2dLayout.fromTorch(w)), conv2dLayout);
    w.dispose();
    const bound = 1 / Math.sqrt(torchShape[1] * this.kernelSize[0] * this.kernelSize[1]);
    this.bias = (options.bias ?? true) ? this.registerParameter('bias', gen.uniform([outChannels], -bound, bound), identityLayout) : null;
  }

  /**
   * x [N,H,W,in] → [N,H',W',out], H' = (H−1)·s − 2p + d·(k−1) + outputPadding + 1; caller owns.
   */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    checkInput(x, this.inChannels, 'ConvTranspose2d.forward');
    const [n, h, w] = x.shape;
    const [sh, sw] = this.stride;
    const [ph, pw] = this.padding;
    const [oph, opw] = this.outputPadding;
    const eh = this.dilation[0] * (this.kernelSize[0] - 1) + 1;
    const ew = this.dilation[1] * (this.kernelSize[1] - 1) + 1;
    const outH = (h - 1) * sh - 2 * ph + eh + oph;
    const outW = (w - 1) * sw - 2 * pw + ew + opw;
    if (outH < 1 || outW < 1) {
      throw new ShapeError(`ConvTranspose2d.forward: output size ${outH}x${outW} is too small for input ${h}x${w}`);
    }
    if (this.isBlockScatter()) return this.blockScatter(x);
    return tf.tidy(() => {
      const filter = dilateFilter(this.weight as tf.Tensor4D, this.dilation); // [eH, eW, out/g, in]
      const outG = this.outChannels / this.groups;
      const fullShape: [number, number, number, number] = [n, (h - 1) * sh + eh, (w - 1) * sw + ew, outG];
      const xs = this.groups === 1 ? [x] : tf.split(x, this.groups, 3);
      const fs = this.groups === 1 ? [filter] : tf.split(filter, this.groups, 3);
      const parts = xs.map((xg, g) => tf.conv2dTranspose(xg as tf.Tensor4D, fs[g] as tf.Tensor4D, fullShape, [sh, sw], 'valid'));
      let y = parts.length === 1 ? parts[0] : tf.concat(parts, 3); // full adjoint, [N, (H−1)s+eH, …, out]
      // Rows past the full output (outputPadding > padding) receive no input: only the bias.
      const extraH = Math.max(0, oph - ph);
      const extraW = Math.max(0, opw - pw);
      if (extraH || extraW) y = tf.pad(y, [[0, 0], [0, extraH], [0, extraW], [0, 0]]);
      y = tf.slice(y, [0, ph, pw, 0], [n, outH, outW, this.outChannels]);
      return this.bias ? tf.add(y, this.bias) : y;
    });
  }

  /** Kernel = stride, no padding/dilation/groups: each input pixel owns its own k×k output block. */
  private isBlockScatter(): boolean {
    const [kh, kw] = this.kernelSize;
    const [sh, sw] = this.stride;
    return (
      kh === sh && kw === sw && this.groups === 1 && this.dilation[0] === 1 && this.dilation[1] === 1 &&
      this.padding[0] === 0 && this.padding[1] === 0 && this.outputPadding[0] === 0 && this.outputPadding[1] === 0
    );
  }

  /**
   * The block-scatter case (torchvision's mask predictor, 2×2 stride 2) as one matmul
   * [N·H·W, in] × [in, kH·kW·out] and a pixel shuffle: a quarter of the multiply-adds of the adjoint
   * convolution over a zero-dilated input, and the same sums (one product per input channel).
   */
  private blockScatter(x: tf.Tensor4D): tf.Tensor4D {
    const [n, h, w, cin] = x.shape;
    const [kh, kw] = this.kernelSize;
    const cout = this.outChannels;
    // tfjs-wasm's Transpose divides by a zero dimension (no RoIs in a training image, no detections).
    if (x.size === 0) return tf.zeros([n, h * kh, w * kw, cout]);
    return tf.tidy((): tf.Tensor4D => {
      const filter = tf.reshape(tf.transpose(this.weight, [3, 0, 1, 2]), [cin, kh * kw * cout]); // [in, kH·kW·out]
      const blocks = tf.reshape(tf.matMul(tf.reshape(x, [n * h * w, cin]), filter), [n * h, w, kh, kw * cout]);
      const y = tf.reshape(tf.transpose(blocks, [0, 2, 1, 3]), [n, h * kh, w * kw, cout]) as tf.Tensor4D;
      return this.bias ? tf.add(y, this.bias) : y;
    });
  }
}
