import * as tf from '@tensorflow/tfjs-core';
import {
  LayerNorm,
  Linear,
  Module,
  ModuleList,
  ShapeError,
  defaultGenerator,
  formatShape,
  normal,
  ones,
  xavierUniform,
  zeros,
  type Generator,
} from '@residual/core';
import { Block, PatchEmbed, get2dSincosPosEmbed } from '@residual/vit';
import { maeLoss } from './mae-loss.js';
import { patchify } from './patchify.js';
import { permuteRows } from './permute-rows.js';
import { randomMasking } from './random-masking.js';

/** Configuration of {@link MaskedAutoencoderViT}; defaults are the official class's (ViT-L encoder). */
export interface MaskedAutoencoderConfig {
  /** Square input side; default 224. */
  imgSize?: number;
  /** Patch side p; default 16. */
  patchSize?: number;
  /** Input channels C; default 3. */
  inChans?: number;
  /** Encoder width D; default 1024. */
  embedDim?: number;
  /** Encoder blocks; default 24. */
  depth?: number;
  /** Encoder heads; default 16. */
  numHeads?: number;
  /** Decoder width; default 512. */
  decoderEmbedDim?: number;
  /** Decoder blocks; default 8. */
  decoderDepth?: number;
  /** Decoder heads; default 16. */
  decoderNumHeads?: number;
  /** MLP hidden width = trunc(dim·mlpRatio); default 4. */
  mlpRatio?: number;
  /** LayerNorm eps; default 1e-5 (the class's nn.LayerNorm), the named builders pass 1e-6. */
  normEps?: number;
  /** Regress per-patch normalised pixels (official `--norm_pix_loss`); default false. */
  normPixLoss?: boolean;
  /** Draws the initial weights and, when no noise is passed, the masking noise. */
  generator?: Generator;
}

/** A resolved {@link MaskedAutoencoderConfig} without the generator: plain JSON, as checkpoints store it. */
export type MaeModelConfig = Required<Omit<MaskedAutoencoderConfig, 'generator'>>;

/** Options of {@link MaskedAutoencoderViT.forward}. */
export interface MaeForwardOptions {
  /** Fraction of patches removed; default 0.75. */
  maskRatio?: number;
  /** Masking noise [N, L] (deterministic; e.g. torch's draws); default drawn from the model's generator. */
  noise?: tf.Tensor2D;
}

/** What {@link MaskedAutoencoderViT.forward} returns; all new tensors the caller owns. */
export interface MaeOutput {
  /** Mean squared error over the removed patches. */
  loss: tf.Scalar;
  /** Reconstruction [N, L, p·p·C] in patchify layout (normalised pixels with normPixLoss). */
  pred: tf.Tensor3D;
  /** [N, L], 1 = removed, 0 = kept. */
  mask: tf.Tensor2D;
}

/** What {@link MaskedAutoencoderViT.forwardEncoder} returns; all new tensors the caller owns. */
export interface MaeEncoderOutput {
  /** Class token + kept tokens after the final norm, [N, 1 + lenKeep, D]. */
  latent: tf.Tensor3D;
  /** [N, L], 1 = removed. */
  mask: tf.Tensor2D;
  /** [N, L] int32 inverse shuffle. */
  idsRestore: tf.Tensor2D;
}

/**
 * Masked Autoencoder with a ViT backbone, a port of the official models_mae.py: the encoder sees
 * only the kept patches (+ class token), the decoder fills in `mask_token`s, restores spatial
 * order and predicts the pixels of every patch. Torch state-dict keys and order as the official
 * checkpoints: `cls_token`, `pos_embed`, `mask_token`, `decoder_pos_embed`, `patch_embed.proj.*`,
 * `blocks.{i}.*`, `norm.*`, `decoder_embed.*`, `decoder_blocks.{i}.*`, `decoder_norm.*`,
 * `decoder_pred.*`. Both position embeddings are fixed sin-cos tables (in the state dict, not trained).
 */
export class MaskedAutoencoderViT extends Module {
  /** The resolved configuration (every default filled in), e.g. for checkpoints. */
  readonly config: MaeModelConfig;
  readonly patchSize: number;
  readonly inChans: number;
  readonly numPatches: number;
  readonly normPixLoss: boolean;
  readonly generator: Generator;
  // MAE encoder specifics
  readonly patchEmbed: PatchEmbed;
  readonly clsToken: tf.Variable;
  readonly posEmbed: tf.Variable;
  readonly blocks: ModuleList<Block>;
  readonly norm: LayerNorm;
  // MAE decoder specifics
  readonly decoderEmbed: Linear;
  readonly maskToken: tf.Variable;
  readonly decoderPosEmbed: tf.Variable;
  readonly decoderBlocks: ModuleList<Block>;
  readonly decoderNorm: LayerNorm;
  readonly decoderPred: Linear;

  constructor(config: MaskedAutoencoderConfig = {}) {
    super();
    const generator = config.generator ?? defaultGenerator();
    const embedDim = config.embedDim ?? 1024;
    const decoderDim = config.decoderEmbedDim ?? 512;
    const mlpRatio = config.mlpRatio ?? 4;
    const normEps = config.normEps ?? 1e-5;
    this.generator = generator;
    this.patchSize = config.patchSize ?? 16;
    this.inChans = config.inChans ?? 3;
    this.normPixLoss = config.normPixLoss ?? false;
    this.config = {
      imgSize: config.imgSize ?? 224, patchSize: this.patchSize, inChans: this.inChans, embedDim,
      depth: config.depth ?? 24, numHeads: config.numHeads ?? 16, decoderEmbedDim: decoderDim,
      decoderDepth: config.decoderDepth ?? 8, decoderNumHeads: config.decoderNumHeads ?? 16, mlpRatio, normEps,
      normPixLoss: this.normPixLoss,
    };
    const blockOptions = (numHeads: number) => ({ numHeads, mlpRatio, qkvBias: true, normEps, generator });

    this.patchEmbed = this.registerModule(
      'patch_embed',
      new PatchEmbed({ imgSize: config.imgSize, patchSize: this.patchSize, inChans: this.inChans, embedDim, generator }),
    );
    this.numPatches = this.patchEmbed.numPatches;
    const g = this.patchEmbed.gridSize;
    this.clsToken = this.registerParameter('cls_token', zeros([1, 1, embedDim]));
    this.posEmbed = this.registerParameter('pos_embed', fixedSincos(embedDim, g));
    this.posEmbed.trainable = false; // fixed sin-cos embedding (requires_grad=False)
    const blocks = Array.from({ length: config.depth ?? 24 }, () => new Block(embedDim, blockOptions(config.numHeads ?? 16)));
    this.blocks = this.registerModule('blocks', new ModuleList(blocks));
    this.norm = this.registerModule('norm', new LayerNorm(embedDim, { eps: normEps }));

    this.decoderEmbed = this.registerModule('decoder_embed', new Linear(embedDim, decoderDim, { bias: true, generator }));
    this.maskToken = this.registerParameter('mask_token', zeros([1, 1, decoderDim]));
    this.decoderPosEmbed = this.registerParameter('decoder_pos_embed', fixedSincos(decoderDim, g));
    this.decoderPosEmbed.trainable = false;
    const decoderBlocks = Array.from(
      { length: config.decoderDepth ?? 8 },
      () => new Block(decoderDim, blockOptions(config.decoderNumHeads ?? 16)),
    );
    this.decoderBlocks = this.registerModule('decoder_blocks', new ModuleList(decoderBlocks));
    this.decoderNorm = this.registerModule('decoder_norm', new LayerNorm(decoderDim, { eps: normEps }));
    const patchDim = this.patchSize * this.patchSize * this.inChans;
    this.decoderPred = this.registerModule('decoder_pred', new Linear(decoderDim, patchDim, { bias: true, generator }));

    this.initializeWeights(generator);
  }

  // models_mae.initialize_weights (the sin-cos tables are already in place).
  private initializeWeights(generator: Generator): void {
    // patch_embed initialised like nn.Linear (instead of nn.Conv2d): xavier on the [D, C·p·p] view;
    // its bias keeps the Conv2d default.
    this.patchEmbed.proj.initParameter('weight', (s) =>
      tf.tidy(() => tf.reshape(xavierUniform([s[0], s[1] * s[2] * s[3]], {}, generator), s)),
    );
    // timm's trunc_normal_(std=.02) is effectively normal_(std=.02): the ±2 cutoff is 100σ.
    this.initParameter('cls_token', (s) => normal(s, { std: 0.02 }, generator));
    this.initParameter('mask_token', (s) => normal(s, { std: 0.02 }, generator));
    for (const m of this.namedModules().values()) {
      if (m instanceof Linear) {
        m.initParameter('weight', (s) => xavierUniform(s, {}, generator)); // following official JAX ViT
        if (m.namedParameters().has('bias')) m.initParameter('bias', zeros);
      } else if (m instanceof LayerNorm) {
        m.initParameter('weight', ones);
        m.initParameter('bias', zeros);
      }
    }
  }

  /**
   * Images NHWC [N, H, W, C] → latent of the kept patches. Noise [N, L] as in {@link forward}.
   * Sync; new tensors, caller owns.
   */
  forwardEncoder(imgs: tf.Tensor4D, maskRatio: number, noise?: tf.Tensor2D): MaeEncoderOutput {
    return tf.tidy(() => {
      const tokens = this.patchEmbed.forward(imgs); // [N, L, D]
      const [n, len, d] = tokens.shape;
      const withPos = tf.add(tokens, tf.slice(this.posEmbed, [0, 1, 0], [1, len, d])) as tf.Tensor3D; // w/o cls
      const { xMasked, mask, idsRestore } = randomMasking(withPos, maskRatio, noise, this.generator); // [N, K, D]
      const cls = tf.add(this.clsToken, tf.slice(this.posEmbed, [0, 0, 0], [1, 1, d])); // [1, 1, D]
      let x = tf.concat([tf.broadcastTo(cls, [n, 1, d]), xMasked], 1) as tf.Tensor3D; // [N, 1+K, D]
      for (const blk of this.blocks) x = blk.forward(x);
      return { latent: this.norm.forward(x) as tf.Tensor3D, mask, idsRestore };
    });
  }

  /** Latent [N, 1+K, D] + idsRestore [N, L] → pred [N, L, p·p·C]; sync, caller owns. */
  forwardDecoder(latent: tf.Tensor3D, idsRestore: tf.Tensor2D): tf.Tensor3D {
    const [n, len] = idsRestore.shape;
    const restore = idsRestore.dataSync();
    const flat = new Int32Array(n * len);
    for (let i = 0; i < flat.length; i++) flat[i] = Math.floor(i / len) * len + restore[i];
    return tf.tidy(() => {
      const x = this.decoderEmbed.forward(latent) as tf.Tensor3D; // [N, 1+K, Dd]
      const [, k1, dd] = x.shape;
      const maskTokens = tf.broadcastTo(this.maskToken, [n, len + 1 - k1, dd]);
      const shuffled = tf.concat([tf.slice(x, [0, 1, 0], [n, k1 - 1, dd]), maskTokens], 1); // no cls token
      // unshuffle: row b·L + ids_restore[b, l] of the flattened [N·L, Dd] tokens
      const unshuffled = tf.reshape(permuteRows(tf.reshape(shuffled, [n * len, dd]), flat), [n, len, dd]);
      let y = tf.concat([tf.slice(x, [0, 0, 0], [n, 1, dd]), unshuffled], 1) as tf.Tensor3D; // append cls token
      y = tf.add(y, this.decoderPosEmbed) as tf.Tensor3D;
      for (const blk of this.decoderBlocks) y = blk.forward(y);
      const pred = this.decoderPred.forward(this.decoderNorm.forward(y)) as tf.Tensor3D; // [N, 1+L, p·p·C]
      return tf.slice(pred, [0, 1, 0], [n, len, pred.shape[2]]); // remove cls token
    });
  }

  /** Loss of pred [N, L, p·p·C] against the patchified images NHWC, over removed patches; caller owns. */
  forwardLoss(imgs: tf.Tensor4D, pred: tf.Tensor3D, mask: tf.Tensor2D): tf.Scalar {
    return tf.tidy(() => maeLoss(patchify(imgs, this.patchSize), pred, mask, this.normPixLoss));
  }

  /**
   * Images NHWC [N, H, W, C] (normalised by the data pipeline) → `{ loss, pred, mask }` (see
   * {@link MaeOutput}). Sync, so it runs inside tf.variableGrads; new tensors, caller owns.
   */
  forward(imgs: tf.Tensor4D, options: MaeForwardOptions = {}): MaeOutput {
    if (imgs.rank !== 4) {
      throw new ShapeError(`MaskedAutoencoderViT.forward: imgs must be NHWC [N,H,W,C], got ${formatShape(imgs.shape)}`);
    }
    return tf.tidy(() => {
      const { latent, mask, idsRestore } = this.forwardEncoder(imgs, options.maskRatio ?? 0.75, options.noise);
      const pred = this.forwardDecoder(latent, idsRestore); // [N, L, p·p·C]
      return { loss: this.forwardLoss(imgs, pred, mask), pred, mask };
    });
  }
}

function fixedSincos(dim: number, gridSize: number): tf.Tensor {
  return tf.tidy(() => tf.expandDims(get2dSincosPosEmbed(dim, gridSize, true), 0)); // [1, 1+L, dim]
}
