// docs/performance.md: ResNet-50 224 forward with the model unfused and after fuseForInference, in
// one process, interleaved (u, f, u, f); wall and process CPU time (all threads) per forward.
//
//   RESIDUAL_WASM_THREADS=1 B=1 R=4 node tools/bench/core-levers.mjs
//   RESIDUAL_WASM_THREADS=2 B=8 R=2 ORDER=ufuf node tools/bench/core-levers.mjs
//
// Needs the built packages (npx tsc -b packages/resnet/tsconfig.build.json, then
// node packages/core/scripts/bundle-gradients.mjs). Prints one JSON line per timing.
import * as tf from '@tensorflow/tfjs-core';
import os from 'node:os';
import { initBackend, Generator } from '@residual/core';
import { resnet50 } from '@residual/resnet';
import { fuseForInference } from '../../packages/core/dist/nn/fuse/fuse-for-inference.js';
import { wasmThreads } from '../../packages/core/dist/wasm-threads/wasm-threads-info.js';

const batch = Number(process.env.B ?? 1);
const reps = Number(process.env.R ?? 4);
await initBackend('wasm');
const gen = new Generator(0);
const model = resnet50({ generator: gen }).eval();
// non-trivial norm statistics, so that folding changes something
const dict = new Map();
for (const [k, t] of model.stateDict()) {
  if (k.endsWith('running_var')) dict.set(k, gen.uniform(t.shape, 0.5, 2));
  else if (k.endsWith('running_mean')) dict.set(k, gen.uniform(t.shape, -0.2, 0.2));
  else if (/bn\d\.bias|downsample\.1\.bias/.test(k)) dict.set(k, gen.uniform(t.shape, -0.2, 0.2));
  t.dispose();
}
model.loadStateDict(dict, { strict: false });
tf.dispose([...dict.values()]);
const x = gen.normalTensor([batch, 224, 224, 3]);

const median = (a) => [...a].sort((p, q) => p - q)[a.length >> 1];
function time(label) {
  const wall = [];
  const cpu = [];
  let out = null;
  for (let i = 0; i <= reps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const y = model.forward(x);
    y.dataSync();
    const c = process.cpuUsage(c0);
    if (i > 0) {
      wall.push(performance.now() - t0);
      cpu.push((c.user + c.system) / 1000);
    }
    out?.dispose();
    out = y;
  }
  const row = { batch, threads: wasmThreads()?.count, label, wallMs: Math.round(median(wall)), minWallMs: Math.round(Math.min(...wall)), cpuMs: Math.round(median(cpu)), load1: os.loadavg()[0] };
  console.log(JSON.stringify(row));
  return out;
}

let fusion = null;
const last = {};
for (const step of (process.env.ORDER ?? 'ufuf').split('')) {
  if (step === 'f' && fusion === null) {
    fusion = fuseForInference(model);
    model.forward(x).dispose(); // the tracing call
  }
  if (step === 'u' && fusion !== null) {
    fusion.unfuse();
    fusion = null;
  }
  last[step]?.dispose();
  last[step] = time(step === 'f' ? 'fused' : 'unfused');
}
if (last.u && last.f) {
  const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(last.u, last.f))).dataSync()[0]);
  const scale = tf.tidy(() => tf.max(tf.abs(last.u)).dataSync()[0]);
  console.log(JSON.stringify({ maxAbsDiff: diff, maxAbsLogit: scale }));
}
