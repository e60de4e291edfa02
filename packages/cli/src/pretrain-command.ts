import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { AdamW, Generator, ValueError } from '@residual/core';
import { IMAGENET_MEAN, IMAGENET_STD, loadMnist, readImage } from '@residual/data';
import {
  MaePretrainer,
  maePretrainParamGroups,
  maeVitBasePatch16,
  maeVitHugePatch14,
  maeVitLargePatch16,
  maeVitTestPatch8,
  type MaeBuilderOptions,
  type MaskedAutoencoderViT,
} from '@residual/mae';
import { MaeCheckpointDir } from '@residual/mae/node';
import { UsageError, type Command, type CommandContext } from './command.js';
import { choiceFlag, numberFlag, positionals, stringFlag } from './flag-values.js';
import { listImages } from './image-list.js';

/** The MAE models `residual pretrain --model` and `residual reconstruct` know, with their default input side. */
export const MAE_MODELS = {
  tiny: { build: maeVitTestPatch8, imgSize: 32 },
  base: { build: maeVitBasePatch16, imgSize: 224 },
  large: { build: maeVitLargePatch16, imgSize: 224 },
  huge: { build: maeVitHugePatch14, imgSize: 224 },
} satisfies Record<string, { build: (o: MaeBuilderOptions) => MaskedAutoencoderViT; imgSize: number }>;

/** A name of {@link MAE_MODELS}. */
export type MaeModelName = keyof typeof MAE_MODELS;

/**
 * Images NHWC [N, H, W, C] → [N, size, size, 3], normalised with the ImageNet mean and std (what the
 * official pre-training and `residual reconstruct` use): bilinear resize, grey repeated to 3 channels.
 * Caller owns the result; `images` (values in [0, 1]) is borrowed.
 */
export function maeInput(images: tf.Tensor4D, size: number): tf.Tensor4D {
  return tf.tidy(() => {
    let x: tf.Tensor4D = images.shape[3] === 1 ? (tf.tile(images, [1, 1, 1, 3]) as tf.Tensor4D) : images;
    if (x.shape[1] !== size || x.shape[2] !== size) x = tf.image.resizeBilinear(x, [size, size], false, true);
    return tf.div(tf.sub(x, [...IMAGENET_MEAN]), [...IMAGENET_STD]) as tf.Tensor4D;
  });
}

/** The training set of `residual pretrain`, normalised, [N, size, size, 3]; caller owns it. */
async function loadPretrainData(data: string, size: number, limit: number | undefined): Promise<tf.Tensor4D> {
  if (data === 'mnist') {
    const { train, test } = await loadMnist({ train: limit ?? 8000, test: 0 });
    // 28×28 digits on a 2-pixel zero border (32×32, as the examples), then resized to the model's side
    const padded = tf.pad(train.images, [[0, 0], [2, 2], [2, 2], [0, 0]]) as tf.Tensor4D;
    tf.dispose([train.images, train.labels, test.images, test.labels]);
    const out = maeInput(padded, size);
    padded.dispose();
    return out;
  }
  const files = (await listImages([data])).slice(0, limit);
  const parts: tf.Tensor4D[] = [];
  try {
    for (const file of files) {
      const image = await readImage(file);
      parts.push(tf.tidy(() => maeInput(tf.expandDims(image, 0) as tf.Tensor4D, size)));
      image.dispose();
    }
    return tf.concat(parts, 0);
  } finally {
    tf.dispose(parts);
  }
}

async function hasCheckpoint(dir: string): Promise<boolean> {
  return fs.access(path.join(dir, 'latest')).then(() => true, () => false);
}

async function runPretrain(ctx: CommandContext): Promise<void> {
  positionals(ctx, 'pretrain', 'none', 0);
  const data = stringFlag(ctx, 'pretrain', 'data', true);
  const out = stringFlag(ctx, 'pretrain', 'out', true);
  const name = choiceFlag(ctx, 'pretrain', 'model', Object.keys(MAE_MODELS) as MaeModelName[], 'tiny');
  const int = (flag: string, fallback: number, min = 1): number => numberFlag(ctx, 'pretrain', flag, fallback, { integer: true, min });
  const imgSize = int('img-size', MAE_MODELS[name].imgSize);
  const epochs = int('epochs', 1);
  const batchSize = int('batch-size', 8);
  const accumIter = int('accum-iter', 1);
  const limit = ctx.values.limit === undefined ? undefined : int('limit', 0);
  const seed = int('seed', 0, 0);
  const maskRatio = numberFlag(ctx, 'pretrain', 'mask-ratio', 0.75, { min: 0 });
  if (maskRatio >= 1) throw new UsageError(`residual pretrain: --mask-ratio must be in [0, 1), got ${maskRatio}`);
  const warmupEpochs = numberFlag(ctx, 'pretrain', 'warmup-epochs', 0, { min: 0 });
  if (warmupEpochs >= epochs) throw new UsageError(`residual pretrain: --warmup-epochs (${warmupEpochs}) must be below --epochs (${epochs})`);
  const blr = numberFlag(ctx, 'pretrain', 'blr', 1.5e-4, { min: 0 });
  // main_pretrain.py: absolute lr = base lr × effective batch / 256 unless given
  const lr = numberFlag(ctx, 'pretrain', 'lr', (blr * batchSize * accumIter) / 256, { min: 0 });
  const weightDecay = numberFlag(ctx, 'pretrain', 'weight-decay', 0.05, { min: 0 });
  const normPixLoss = ctx.values['norm-pix-loss'] === true;
  const resume = ctx.values.resume === true;

  if (!resume && (await hasCheckpoint(out))) {
    throw new ValueError(`--out ${out} already holds checkpoints: pass --resume to continue them, or choose another directory`);
  }
  if (resume && !(await hasCheckpoint(out))) throw new ValueError(`--resume: no checkpoint in ${out} (no "latest" file)`);
  await ctx.initBackend();
  const images = await loadPretrainData(data, imgSize, limit);
  const count = images.shape[0];
  const itersPerEpoch = Math.floor(count / batchSize); // drop_last, as the official loader
  if (itersPerEpoch < accumIter) {
    images.dispose();
    throw new ValueError(`--data ${data}: ${count} images give ${itersPerEpoch} batches of ${batchSize} per epoch, fewer than --accum-iter ${accumIter}`);
  }
  const model = MAE_MODELS[name].build({ imgSize, normPixLoss, generator: new Generator(seed) });
  const optimizer = new AdamW(maePretrainParamGroups(model, weightDecay), { lr, betas: [0.9, 0.95] });
  const stepsPerEpoch = Math.floor(itersPerEpoch / accumIter);
  const trainer = new MaePretrainer(model, optimizer, {
    lr, warmupEpochs, epochs, itersPerEpoch: stepsPerEpoch * accumIter, accumIter, maskRatio,
    checkpointStore: new MaeCheckpointDir(out), checkpointEvery: stepsPerEpoch,
  });
  const total = epochs * stepsPerEpoch * accumIter;
  const losses: number[] = [];
  let lastCheckpoint: string | null = null;
  try {
    if (resume) await trainer.resume();
    ctx.note(`pretrain: MAE ${name} (${imgSize}×${imgSize}) on ${count} images of ${data}, ${epochs} epochs of ${total / epochs} iterations, lr ${lr.toExponential(3)}`);
    const progress = ctx.progress('pretrain', total - trainer.iteration);
    let order: Int32Array | null = null;
    let orderEpoch = -1;
    try {
      while (trainer.iteration < total) {
        const i = trainer.iteration;
        const epoch = Math.floor(i / trainer.options.itersPerEpoch);
        // The batch order of an epoch depends only on the seed and the epoch: a resumed run sees the same batches.
        if (epoch !== orderEpoch) {
          order = new Generator(seed + 1 + epoch).randperm(count);
          orderEpoch = epoch;
        }
        const at = (i % trainer.options.itersPerEpoch) * batchSize;
        const idx = tf.tensor1d((order as Int32Array).subarray(at, at + batchSize), 'int32');
        const batch = tf.gather(images, idx) as tf.Tensor4D;
        idx.dispose();
        let step;
        try {
          step = await trainer.trainStep(batch);
        } finally {
          batch.dispose();
        }
        losses.push(step.loss);
        if (step.checkpoint) lastCheckpoint = step.checkpoint;
        progress.tick(`loss ${step.loss.toFixed(4)}`);
      }
    } finally {
      progress.done();
    }
  } finally {
    images.dispose();
    trainer.dispose();
    optimizer.dispose();
    model.dispose();
  }
  const result = {
    model: name, imgSize, iterations: total, trainedIterations: losses.length,
    firstLoss: losses[0] ?? null, lastLoss: losses.at(-1) ?? null, checkpoint: lastCheckpoint ?? (await new MaeCheckpointDir(out).latest()),
  };
  if (ctx.common.json) {
    ctx.printJson(result);
    return;
  }
  if (losses.length === 0) ctx.print(`nothing to do: ${out} is already at iteration ${total}`);
  else ctx.print(`loss ${result.firstLoss?.toFixed(4)} → ${result.lastLoss?.toFixed(4)} over ${losses.length} iterations`);
  ctx.print(`checkpoint: ${result.checkpoint}`);
}

/** `residual pretrain --data DIR|mnist --out CKPT_DIR`: MAE pre-training with resumable checkpoints. */
export const pretrainCommand: Command = {
  name: 'pretrain',
  summary: 'pre-train a Masked Autoencoder (MAE) on a folder of images or MNIST, with resumable checkpoints',
  help: `Usage: residual pretrain --data DIR|mnist --out CKPT_DIR [--model tiny] [--epochs 1] [--batch-size 8] [--resume]

Pre-trains MAE as main_pretrain.py: AdamW (betas 0.9, 0.95; no weight decay on norms and biases),
per-iteration half-cycle cosine learning rate after a linear warm-up, gradient accumulation, loss on
the removed patches. Images are resized to the model's input side (no random crop or flip), grey
repeated to 3 channels, normalised with the ImageNet mean and std. A checkpoint directory is written
atomically after every epoch (CKPT_DIR/latest points to it; model.safetensors has torch keys);
--resume continues bit-exactly where the last checkpoint stopped (same batches and masks).

Flags:
  --data DIR|mnist     a folder of images (not recursive), or the MNIST digits of the mnist package
  --out DIR            checkpoint directory (must not hold checkpoints unless --resume)
  --model NAME         ${Object.keys(MAE_MODELS).join(', ')} (default tiny: 32×32, patch 8)
  --img-size N         input side (default: the model's, 32 for tiny, 224 otherwise)
  --epochs N           epochs of the cosine schedule (default 1)
  --batch-size N       images per iteration (default 8)
  --accum-iter N       iterations whose gradients are summed per optimiser step (default 1)
  --blr X              base learning rate: lr = blr × batch-size × accum-iter / 256 (default 1.5e-4)
  --lr X               absolute learning rate (overrides --blr)
  --warmup-epochs X    linear warm-up (default 0; the paper: 40 of 800)
  --weight-decay X     AdamW weight decay (default 0.05)
  --mask-ratio X       fraction of patches removed (default 0.75)
  --norm-pix-loss      regress per-patch normalised pixels (the paper's default for fine-tuning quality)
  --limit N            use only the first N images (MNIST: default 8000)
  --seed N             weights, masks and batch order (default 0)
  --resume             continue from CKPT_DIR/latest`,
  options: {
    data: { type: 'string' },
    out: { type: 'string' },
    model: { type: 'string' },
    'img-size': { type: 'string' },
    epochs: { type: 'string' },
    'batch-size': { type: 'string' },
    'accum-iter': { type: 'string' },
    blr: { type: 'string' },
    lr: { type: 'string' },
    'warmup-epochs': { type: 'string' },
    'weight-decay': { type: 'string' },
    'mask-ratio': { type: 'string' },
    'norm-pix-loss': { type: 'boolean' },
    limit: { type: 'string' },
    seed: { type: 'string' },
    resume: { type: 'boolean' },
  },
  run: runPretrain,
};
