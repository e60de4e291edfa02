import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Generator, StateDictError, ValueError, formatShape } from '@residual/core';
import { IMAGENET_MEAN, IMAGENET_STD, readImage } from '@residual/data';
import { MaskedAutoencoderViT, reconstruct, unwrapStateDict, type MaeModelConfig } from '@residual/mae';
import { MaeCheckpointDir, writeReconstructionGrid } from '@residual/mae/node';
import type { Command, CommandContext } from './command.js';
import { UsageError } from './command.js';
import { numberFlag, positionals, stringFlag } from './flag-values.js';
import { listImages } from './image-list.js';
import { loadWeights } from './load-weights.js';
import { maeInput } from './pretrain-command.js';

// Attention heads of the official encoder and decoder widths (heads cannot be read from weights).
const HEADS: Record<number, number> = { 24: 3, 32: 4, 512: 16, 768: 12, 1024: 16, 1280: 16 };

/** Weights file or checkpoint directory → the model file and, when one lies beside it, trainer.json's config. */
async function locate(weights: string): Promise<{ file: string; config: MaeModelConfig | null }> {
  const isDir = await fs.stat(weights).then((s) => s.isDirectory(), () => false);
  // the root of a pretrain run (CKPT/latest) or one checkpoint directory of it
  const dir = isDir ? ((await new MaeCheckpointDir(weights).latest()) ?? weights) : null;
  const file = dir === null ? weights : path.join(dir, 'model.safetensors');
  const trainer = path.join(path.dirname(file), 'trainer.json');
  const text = await fs.readFile(trainer, 'utf8').catch(() => null);
  if (text === null) return { file, config: null };
  const json = JSON.parse(text) as { config?: MaeModelConfig };
  return { file, config: json.config ?? null };
}

/** The official architecture read off the tensors' shapes (torch layout), for weights without trainer.json. */
function inferConfig(dict: Map<string, tf.Tensor>, file: string, normPixLoss: boolean): MaeModelConfig {
  const need = (key: string, rank: number): number[] => {
    const t = dict.get(key);
    if (t === undefined || t.rank !== rank) {
      throw new StateDictError(`--weights ${file}: no ${rank}-D "${key}"${t ? ` (got ${formatShape(t.shape)})` : ''}: not an MAE model with its decoder`);
    }
    return t.shape;
  };
  const [embedDim, inChans, patchSize] = need('patch_embed.proj.weight', 4);
  const grid = Math.round(Math.sqrt(need('pos_embed', 3)[1] - 1));
  const [decoderEmbedDim] = need('decoder_embed.weight', 2);
  const count = (prefix: string) => new Set([...dict.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.split('.')[1])).size;
  const heads = HEADS[embedDim];
  const decoderHeads = HEADS[decoderEmbedDim];
  if (heads === undefined || decoderHeads === undefined) {
    throw new ValueError(
      `--weights ${file}: encoder width ${embedDim} / decoder width ${decoderEmbedDim} is not an official MAE model; ` +
        'use a checkpoint directory of residual pretrain (its trainer.json gives the heads)',
    );
  }
  return {
    imgSize: grid * patchSize, patchSize, inChans, embedDim, depth: count('blocks.'), numHeads: heads, decoderEmbedDim,
    decoderDepth: count('decoder_blocks.'), decoderNumHeads: decoderHeads, mlpRatio: need('blocks.0.mlp.fc1.weight', 2)[0] / embedDim,
    normEps: 1e-6, normPixLoss,
  };
}

async function runReconstruct(ctx: CommandContext): Promise<void> {
  const inputs = positionals(ctx, 'reconstruct', 'IMAGES...', 1, true);
  const weights = stringFlag(ctx, 'reconstruct', 'weights', true);
  const out = stringFlag(ctx, 'reconstruct', 'out', true);
  const maskRatio = numberFlag(ctx, 'reconstruct', 'mask-ratio', 0.75, { min: 0 });
  if (maskRatio >= 1) throw new UsageError(`residual reconstruct: --mask-ratio must be in [0, 1), got ${maskRatio}`);
  const seed = numberFlag(ctx, 'reconstruct', 'seed', 0, { integer: true, min: 0 });
  const images = await listImages(inputs);
  await ctx.initBackend();
  const { file, config } = await locate(weights);
  const { tensors } = await loadWeights(file, '--weights');
  let model: MaskedAutoencoderViT;
  try {
    let dict: Map<string, tf.Tensor>;
    try {
      dict = unwrapStateDict(tensors);
    } catch (e) {
      throw new StateDictError(`--weights ${file}: not MAE weights (${(e as Error).message})`);
    }
    const resolved = config ?? inferConfig(dict, file, ctx.values['norm-pix-loss'] === true);
    model = new MaskedAutoencoderViT({ ...resolved, generator: new Generator(seed) });
    try {
      model.loadStateDict(dict);
    } catch (e) {
      model.dispose();
      throw e;
    }
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
  model.eval();
  await fs.mkdir(out, { recursive: true });
  const side = model.config.imgSize;
  const noiseGen = new Generator(seed);
  const results: Array<{ image: string; output: string; loss: number }> = [];
  const progress = ctx.progress('reconstruct', images.length);
  try {
    for (const image of images) {
      const decoded = await readImage(image);
      const input = tf.tidy(() => maeInput(tf.expandDims(decoded, 0) as tf.Tensor4D, side));
      decoded.dispose();
      const noise = noiseGen.uniform([1, model.numPatches]) as tf.Tensor2D;
      const loss = tf.tidy(() => model.forward(input, { maskRatio, noise }).loss.dataSync()[0]);
      const result = reconstruct(model, input, { maskRatio, noise });
      const output = path.join(out, `${path.parse(image).name}.png`);
      try {
        await writeReconstructionGrid(output, input, result, { mean: [...IMAGENET_MEAN], std: [...IMAGENET_STD] });
      } finally {
        tf.dispose([input, noise, result.masked, result.reconstruction, result.pasted, result.mask]);
      }
      results.push({ image, output, loss });
      progress.tick(image);
    }
  } finally {
    progress.done();
    model.dispose();
  }
  if (ctx.common.json) {
    ctx.printJson(results);
    return;
  }
  for (const r of results) ctx.print(`${r.output}  (loss on the removed patches ${r.loss.toFixed(4)})`);
}

/** `residual reconstruct --weights FILE IMAGES... --out DIR`: the MAE paper's reconstruction figure per image. */
export const reconstructCommand: Command = {
  name: 'reconstruct',
  summary: 'draw MAE reconstructions (original | masked | reconstruction | + visible) of images',
  help: `Usage: residual reconstruct --weights FILE|CKPT_DIR IMAGES... --out DIR [--mask-ratio 0.75] [--seed 0]

Masks each image at random, runs a pre-trained Masked Autoencoder and writes DIR/<name>.png with
the original, the masked input, the reconstruction and the reconstruction with the visible patches
pasted back (as mae_visualize.ipynb). Images are resized to the model's input side and normalised
with the ImageNet mean and std. The weights are the --out directory of residual pretrain (its latest
checkpoint), one of its checkpoint directories or their model.safetensors (trainer.json beside it
gives the model), or official MAE weights with the
decoder (e.g. mae_visualize_vit_large.pth), whose architecture is read from the tensor shapes.

Flags:
  --weights FILE|DIR   MAE weights with torch keys, including the decoder, or a pretrain checkpoint directory
  --out DIR            where the PNGs go (created if missing)
  --mask-ratio X       fraction of patches removed (default 0.75)
  --seed N             seed of the masks (default 0)
  --norm-pix-loss      the weights predict per-patch normalised pixels (only for files without trainer.json)`,
  options: {
    weights: { type: 'string' },
    out: { type: 'string' },
    'mask-ratio': { type: 'string' },
    seed: { type: 'string' },
    'norm-pix-loss': { type: 'boolean' },
  },
  run: runReconstruct,
};
