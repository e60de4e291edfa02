import * as tf from '@tensorflow/tfjs-core';
import { DropPath, Identity, LayerNorm, Module, type Generator } from '@residual/core';
import { Attention } from './attention.js';
import { fusedBlockForward } from './block-grad.js';
import { Mlp } from './mlp.js';

/** Options of {@link Block}. */
export interface BlockOptions {
  /** Number of attention heads; default 8. */
  numHeads?: number;
  /** MLP hidden width = trunc(dim·mlpRatio); default 4. */
  mlpRatio?: number;
  /** Bias on the fused qkv projection; default false (timm), true in the named models. */
  qkvBias?: boolean;
  /** Attention scale; default headDim^−0.5. */
  qkScale?: number;
  /** Dropout after the attention projection and in the MLP; default 0. */
  drop?: number;
  /** Dropout on the attention weights; default 0. */
  attnDrop?: number;
  /** Stochastic depth rate of both residual branches (per sample, training only); default 0. */
  dropPath?: number;
  /** LayerNorm eps; default 1e-5 (torch's), the named models pass 1e-6. */
  normEps?: number;
  /** Draws the initial weights and every random mask; default core's defaultGenerator(). */
  generator?: Generator;
}

/**
 * Pre-norm transformer block of timm 0.3.2: `x + dropPath(attn(norm1(x)))`, then
 * `x + dropPath(mlp(norm2(x)))`. Torch keys `norm1.*`, `attn.*`, `norm2.*`, `mlp.*` (a rate-0
 * drop path is an Identity, as timm's, and holds no state).
 */
export class Block extends Module {
  readonly norm1: LayerNorm;
  readonly attn: Attention;
  readonly dropPath: Module & { forward(x: tf.Tensor): tf.Tensor };
  readonly norm2: LayerNorm;
  readonly mlp: Mlp;

  constructor(dim: number, options: BlockOptions = {}) {
    super();
    const eps = options.normEps ?? 1e-5;
    const generator = options.generator;
    const rate = options.dropPath ?? 0;
    this.norm1 = this.registerModule('norm1', new LayerNorm(dim, { eps }));
    this.attn = this.registerModule(
      'attn',
      new Attention(dim, {
        numHeads: options.numHeads,
        qkvBias: options.qkvBias,
        qkScale: options.qkScale,
        attnDrop: options.attnDrop,
        projDrop: options.drop,
        generator,
      }),
    );
    this.dropPath = this.registerModule('drop_path', rate > 0 ? new DropPath(rate, { generator }) : new Identity());
    this.norm2 = this.registerModule('norm2', new LayerNorm(dim, { eps }));
    const hiddenFeatures = Math.trunc(dim * (options.mlpRatio ?? 4));
    this.mlp = this.registerModule('mlp', new Mlp(dim, { hiddenFeatures, drop: options.drop, generator }));
  }

  /** Tokens [B, N, D] → [B, N, D]; caller owns the result. */
  forward(x: tf.Tensor3D): tf.Tensor3D {
    // Without active dropout or drop path the block is one node with its own backward (block-grad.ts):
    // the same values, a fraction of the memory under tf.variableGrads.
    if (!this.opByOp()) return fusedBlockForward(this, x);
    return tf.tidy(() => {
      const y = tf.add(x, this.dropPath.forward(this.attn.forward(this.norm1.forward(x) as tf.Tensor3D)));
      return tf.add(y, this.dropPath.forward(this.mlp.forward(this.norm2.forward(y)))) as tf.Tensor3D;
    });
  }

  // Whether this forward needs the op-by-op path: random masks (dropout or drop path active in
  // training mode), or a tanh GELU, whose derivative the fused backward does not implement.
  private opByOp(): boolean {
    if (this.mlp.act.approximate !== 'none') return true;
    if (!this.training) return false;
    const rates = [this.attn.attnDrop.p, this.attn.projDrop.p, this.mlp.drop.p];
    return rates.some((p) => p > 0) || this.dropPath instanceof DropPath;
  }
}
