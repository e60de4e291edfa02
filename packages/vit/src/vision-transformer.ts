import * as tf from '@tensorflow/tfjs-core';
import {
  Dropout,
  Identity,
  LayerNorm,
  type Layer,
  Linear,
  Module,
  ModuleList,
  defaultGenerator,
  truncNormal,
  zeros,
  type Generator,
} from '@residual/core';
import { Block } from './block.js';
import { PatchEmbed } from './patch-embed.js';
import { get2dSincosPosEmbed } from './sincos-pos-embed.js';

/** How {@link VisionTransformer} gets its position embedding. */
export type PosEmbedKind = 'learned' | 'sincos';

/** Configuration of {@link VisionTransformer}; defaults are timm 0.3.2's `VisionTransformer`. */
export interface VisionTransformerConfig {
  /** Square input side in pixels; default 224. */
  imgSize?: number;
  /** Patch side; default 16. */
  patchSize?: number;
  /** Input channels; default 3. */
  inChans?: number;
  /** Classes of the linear head; 0 means no head (forward returns the pooled features). Default 1000. */
  numClasses?: number;
  /** Token width D; default 768. */
  embedDim?: number;
  /** Number of blocks; default 12. */
  depth?: number;
  /** Attention heads; default 12. */
  numHeads?: number;
  /** MLP hidden width = trunc(D·mlpRatio); default 4. */
  mlpRatio?: number;
  /** Bias on the fused qkv projections; default false (timm), true in the named builders. */
  qkvBias?: boolean;
  /** Attention scale; default headDim^−0.5. */
  qkScale?: number;
  /** Dropout after the position embedding, in attention projections and MLPs; default 0. */
  dropRate?: number;
  /** Dropout on attention weights; default 0. */
  attnDropRate?: number;
  /** Stochastic depth, rising linearly from 0 at the first block to this at the last; default 0. */
  dropPathRate?: number;
  /** LayerNorm eps; default 1e-5 (torch's), the named builders pass 1e-6. */
  normEps?: number;
  /**
   * Mean of the patch tokens (class token excluded) followed by `fc_norm`, as MAE fine-tuning
   * (models_vit.py); otherwise final `norm` and the class token. Default false.
   */
  globalPool?: boolean;
  /** Learned (trunc-normal 0.02, trained) or fixed 2-D sin-cos (not trained); default 'learned'. */
  posEmbed?: PosEmbedKind;
  /**
   * A built head replacing the default `Linear(D, numClasses)` (registered as `head`, so its keys are
   * `head.*`; it is not re-initialised), e.g. MAE's linear-probe BatchNorm + Linear (`head.0.*`,
   * `head.1.*`). It maps pooled features [N, D] to [N, numClasses]; set numClasses to match.
   */
  head?: Layer;
  /** Draws the initial weights and every dropout mask; default core's defaultGenerator(). */
  generator?: Generator;
}

/**
 * Vision Transformer of timm 0.3.2 with MAE's `globalPool` option (models_vit.py). State dict keys
 * as timm and the MAE checkpoints: `cls_token` [1,1,D], `pos_embed` [1,1+L,D], `patch_embed.proj.*`,
 * `blocks.{i}.*`, `norm.*` (or `fc_norm.*` with globalPool), `head.*`. Initialisation as timm:
 * trunc-normal(0.02) tokens and Linear weights, zero biases, LayerNorm ones/zeros.
 */
export class VisionTransformer extends Module {
  readonly numClasses: number;
  readonly embedDim: number;
  readonly globalPool: boolean;
  readonly patchEmbed: PatchEmbed;
  readonly clsToken: tf.Variable;
  readonly posEmbed: tf.Variable;
  readonly posDrop: Dropout;
  readonly blocks: ModuleList<Block>;
  /** Final norm of all tokens; null with globalPool (timm's models_vit deletes it). */
  readonly norm: LayerNorm | null;
  /** Norm of the pooled features with globalPool; null otherwise. */
  readonly fcNorm: LayerNorm | null;
  /** Linear(D, numClasses), Identity when numClasses is 0, or the `head` given in the config. */
  readonly head: Layer;

  constructor(config: VisionTransformerConfig = {}) {
    super();
    const generator = config.generator ?? defaultGenerator();
    const embedDim = config.embedDim ?? 768;
    const depth = config.depth ?? 12;
    const eps = config.normEps ?? 1e-5;
    const dropRate = config.dropRate ?? 0;
    const dropPathRate = config.dropPathRate ?? 0;
    this.numClasses = config.numClasses ?? 1000;
    this.embedDim = embedDim;
    this.globalPool = config.globalPool ?? false;

    this.patchEmbed = this.registerModule(
      'patch_embed',
      new PatchEmbed({ imgSize: config.imgSize, patchSize: config.patchSize, inChans: config.inChans, embedDim, generator }),
    );
    const numPatches = this.patchEmbed.numPatches;
    this.clsToken = this.registerParameter('cls_token', truncNormal([1, 1, embedDim], { std: 0.02 }, generator));
    if ((config.posEmbed ?? 'learned') === 'sincos') {
      const table = get2dSincosPosEmbed(embedDim, this.patchEmbed.gridSize, true);
      this.posEmbed = this.registerParameter('pos_embed', tf.expandDims(table, 0));
      table.dispose();
      this.posEmbed.trainable = false; // fixed, as MAE's requires_grad=False
    } else {
      this.posEmbed = this.registerParameter('pos_embed', truncNormal([1, numPatches + 1, embedDim], { std: 0.02 }, generator));
    }
    this.posDrop = this.registerModule('pos_drop', new Dropout(dropRate, { generator }));
    const blocks: Block[] = [];
    for (let i = 0; i < depth; i++) {
      // timm: torch.linspace(0, drop_path_rate, depth) in float32 (stochastic depth decay rule)
      const dropPath = depth > 1 ? Math.fround((dropPathRate * i) / (depth - 1)) : 0;
      blocks.push(
        new Block(embedDim, {
          numHeads: config.numHeads ?? 12,
          mlpRatio: config.mlpRatio,
          qkvBias: config.qkvBias ?? false,
          qkScale: config.qkScale,
          drop: dropRate,
          attnDrop: config.attnDropRate,
          dropPath,
          normEps: eps,
          generator,
        }),
      );
    }
    this.blocks = this.registerModule('blocks', new ModuleList(blocks));
    this.norm = this.globalPool ? null : this.registerModule('norm', new LayerNorm(embedDim, { eps }));
    this.head = this.registerModule(
      'head',
      config.head ?? (this.numClasses > 0 ? new Linear(embedDim, this.numClasses, { bias: true, generator }) : new Identity()),
    );
    this.fcNorm = this.globalPool ? this.registerModule('fc_norm', new LayerNorm(embedDim, { eps })) : null;
    this.initLinears(generator, config.head !== undefined);
  }

  /** Names exempt from weight decay in fine-tuning (timm's `no_weight_decay()`): the tokens. */
  noWeightDecay(): string[] {
    return ['pos_embed', 'cls_token'];
  }

  // timm 0.3.2 _init_weights: trunc_normal_(std=.02) on Linear weights, zero biases (LayerNorms
  // already start at ones/zeros; the patch-embedding conv keeps torch's default init). A head given
  // in the config keeps its own initialisation.
  private initLinears(generator: Generator, keepHead: boolean): void {
    for (const [name, m] of this.namedModules()) {
      if (!(m instanceof Linear) || (keepHead && (name === 'head' || name.startsWith('head.')))) continue;
      m.initParameter('weight', (s) => truncNormal(s, { std: 0.02 }, generator));
      if (m.namedParameters().has('bias')) m.initParameter('bias', (s) => zeros(s));
    }
  }

  /**
   * Images NHWC [N, H, W, C] (exactly imgSize×imgSize) → tokens [N, 1+L, D], class token first,
   * patches row-major. Without globalPool the final `norm` is applied (as timm's forward_features);
   * with globalPool the tokens are the last block's output (fc_norm comes after pooling).
   * Caller owns the result.
   */
  forwardFeatures(x: tf.Tensor4D): tf.Tensor3D {
    return tf.tidy(() => {
      const patches = this.patchEmbed.forward(x); // [N, L, D]
      const n = patches.shape[0];
      const cls = tf.broadcastTo(this.clsToken, [n, 1, this.embedDim]);
      let t = tf.add(tf.concat([cls, patches], 1), this.posEmbed) as tf.Tensor3D; // [N, 1+L, D]
      t = this.posDrop.forward(t) as tf.Tensor3D;
      for (const blk of this.blocks) t = blk.forward(t);
      return this.norm ? (this.norm.forward(t) as tf.Tensor3D) : t;
    });
  }

  /**
   * Tokens from {@link forwardFeatures} → pooled features [N, D]: fc_norm(mean of the patch tokens)
   * with globalPool, else the (normed) class token. Caller owns the result.
   */
  pool(tokens: tf.Tensor3D): tf.Tensor2D {
    return tf.tidy(() => {
      const [n, len, d] = tokens.shape;
      if (this.fcNorm) {
        const mean = tf.mean(tf.slice(tokens, [0, 1, 0], [n, len - 1, d]), 1);
        return this.fcNorm.forward(mean) as tf.Tensor2D;
      }
      return tf.reshape(tf.slice(tokens, [0, 0, 0], [n, 1, d]), [n, d]);
    });
  }

  /** Images NHWC [N, H, W, C] → logits [N, numClasses] (pooled features [N, D] when numClasses is 0); caller owns. */
  forward(x: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => this.head.forward(this.pool(this.forwardFeatures(x))) as tf.Tensor2D);
  }
}
