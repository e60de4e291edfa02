import * as tf from '@tensorflow/tfjs-core';
import { Dropout, Linear, Module, ShapeError, ValueError, formatShape, type Generator } from '@residual/core';

/** Options of {@link Attention}. */
export interface AttentionOptions {
  /** Number of heads; dim must be divisible by it. Default 8. */
  numHeads?: number;
  /** Bias on the fused qkv projection (timm default false; MAE and the named ViTs use true). */
  qkvBias?: boolean;
  /** Scale of q·kᵀ; default headDim^−0.5. */
  qkScale?: number;
  /** Dropout on the attention weights (training only); default 0. */
  attnDrop?: number;
  /** Dropout after the output projection (training only); default 0. */
  projDrop?: number;
  /** Draws the initial weights and the dropout masks; default core's defaultGenerator(). */
  generator?: Generator;
}

/**
 * Multi-head self-attention of timm 0.3.2: fused `qkv` Linear(D → 3D) whose outputs are read as
 * [3, heads, headDim] (q, k, v; head-major within each), `softmax((q·kᵀ)·scale)` with the scale
 * applied after the product, then `proj` Linear(D → D). Torch keys `qkv.weight` [3D,D], `qkv.bias`,
 * `proj.weight`, `proj.bias`.
 */
export class Attention extends Module {
  readonly dim: number;
  readonly numHeads: number;
  readonly headDim: number;
  readonly scale: number;
  readonly qkv: Linear;
  readonly attnDrop: Dropout;
  readonly proj: Linear;
  readonly projDrop: Dropout;

  constructor(dim: number, options: AttentionOptions = {}) {
    super();
    this.dim = dim;
    this.numHeads = options.numHeads ?? 8;
    if (dim % this.numHeads !== 0) {
      throw new ValueError(`Attention: dim must be divisible by numHeads, got dim ${dim} and numHeads ${this.numHeads}`);
    }
    this.headDim = dim / this.numHeads;
    this.scale = options.qkScale ?? this.headDim ** -0.5;
    const generator = options.generator;
    this.qkv = this.registerModule('qkv', new Linear(dim, dim * 3, { bias: options.qkvBias ?? false, generator }));
    this.attnDrop = this.registerModule('attn_drop', new Dropout(options.attnDrop ?? 0, { generator }));
    this.proj = this.registerModule('proj', new Linear(dim, dim, { bias: true, generator }));
    this.projDrop = this.registerModule('proj_drop', new Dropout(options.projDrop ?? 0, { generator }));
  }

  /** Tokens [B, N, D] → [B, N, D]; caller owns the result. */
  forward(x: tf.Tensor3D): tf.Tensor3D {
    if (x.rank !== 3 || x.shape[2] !== this.dim) {
      throw new ShapeError(`Attention.forward: x must be [B,N,${this.dim}], got ${formatShape(x.shape)}`);
    }
    const [b, n, c] = x.shape;
    return tf.tidy(() => {
      const qkv = tf.transpose(tf.reshape(this.qkv.forward(x), [b, n, 3, this.numHeads, this.headDim]), [2, 0, 3, 1, 4]);
      // qkv: [3, B, heads, N, headDim]
      const [q, k, v] = tf.unstack(qkv);
      const logits = tf.mul(tf.matMul(q, k, false, true), this.scale); // [B, heads, N, N]
      const attn = this.attnDrop.forward(tf.softmax(logits));
      const out = tf.reshape(tf.transpose(tf.matMul(attn, v), [0, 2, 1, 3]), [b, n, c]);
      // heads concatenated back in head order: [B, N, heads·headDim]
      return this.projDrop.forward(this.proj.forward(out)) as tf.Tensor3D;
    });
  }
}
