// tfjs side of `npm run bench`: runs one case in this process (so that its peak RSS is its own) and
// prints one JSON line on stdout.
//
//   node tools/bench/tfjs-case.mjs --case resnet50-fwd --batch 8 [--backend wasm] [--warmup 1] [--repeats 5] [--profile]
//   node tools/bench/tfjs-case.mjs --case resnet50-fwd --engine onnxruntime   # dense parts on onnxruntime-node (issue 12)
//   node tools/bench/tfjs-case.mjs --case resnet50-fwd --fused --wasm-threads 1  # inference fused, one wasm thread
//
// --fused: inference cases run with fuseForInference (Conv + BatchNorm (+ ReLU) as one conv), traced
// when built, so the warm-up step already runs fused. --wasm-threads N: XNNPACK's pool size (default:
// core's, RESIDUAL_WASM_THREADS or the cores).
//
// Timing: `warmup` untimed steps, then the median wall time of `repeats` steps. With --profile, one
// more step runs under tf.profile (untimed): it gives tfjs's peak tensor bytes for the step and the
// kernel times, summed per kernel name, that docs/benchmarks.md analyses.
import * as tf from '@tensorflow/tfjs-core';
import { parseArgs } from 'node:util';
import * as core from '@residual/core';
import { CASES } from './cases.mjs';

const { values: opt } = parseArgs({
  options: {
    case: { type: 'string' },
    batch: { type: 'string', default: '1' },
    backend: { type: 'string', default: 'wasm' },
    warmup: { type: 'string', default: '1' },
    repeats: { type: 'string', default: '5' },
    profile: { type: 'boolean', default: false },
    engine: { type: 'string', default: 'tfjs' },
    fused: { type: 'boolean', default: false },
    'wasm-threads': { type: 'string' },
  },
});
const spec = CASES[opt.case];
if (!spec) throw new Error(`tfjs-case: unknown --case ${opt.case}; expected one of ${Object.keys(CASES).join(', ')}`);
if (opt.fused && (!spec.fusable || opt.engine !== 'tfjs')) throw new Error(`tfjs-case: --fused applies to the tfjs engine's inference cases, not ${opt.case} on ${opt.engine}`);
if (opt.engine !== 'tfjs' && !(opt.engine === 'onnxruntime' && 'onnxGoal' in spec)) {
  throw new Error(`tfjs-case: --engine ${opt.engine} is not available for ${opt.case} (tfjs${'onnxGoal' in spec ? ' or onnxruntime' : ' only'})`);
}

const rssMB = () => process.memoryUsage.rss() / 2 ** 20;
const batch = Number(opt.batch);
const wasmThreads = opt['wasm-threads'] === undefined ? undefined : Number(opt['wasm-threads']);
const backend = await core.initBackend(opt.backend, { wasmThreads });
// wasm threads (XNNPACK's pool) as core started them; older core builds without wasmThreads ran one.
const threads = backend === 'wasm' ? (core.wasmThreads?.()?.count ?? 1) : 1;
const rssBaseMB = rssMB();
let t = performance.now();
// The onnxruntime engine runs the dense parts in onnxruntime-node; tfjs (this backend) does the rest.
let work;
try {
  work = await spec.build(batch, { engine: opt.engine, fused: opt.fused });
} catch (e) {
  // Typically onnxruntime-node missing or failing to load: the row says so, the bench goes on.
  console.log(JSON.stringify({ case: opt.case, batch, backend, engine: opt.engine, error: String(e?.message ?? e).split('\n')[0] }));
  process.exit(3);
}
const buildMs = performance.now() - t;
const times = [];
let cpuMsPerStep = null; // CPU time of the timed steps (all threads of this process), per step
try {
  for (let i = 0; i < Number(opt.warmup); i++) await work.step();
  const cpu = process.cpuUsage();
  for (let i = 0; i < Number(opt.repeats); i++) {
    t = performance.now();
    await work.step();
    times.push(performance.now() - t);
  }
  const used = process.cpuUsage(cpu);
  if (times.length) cpuMsPerStep = (used.user + used.system) / 1000 / times.length;
} catch (e) {
  // On wasm this is typically the 4 GiB heap running out (an abort or an out-of-bounds access
  // inside a kernel); the heap is unusable afterwards, so report and stop.
  const message = String(e?.message ?? e).split('\n')[0];
  const wasmHeapMB = backend === 'wasm' ? tf.backend().wasm?.HEAPU8?.length / 2 ** 20 : undefined;
  console.log(JSON.stringify({
    case: opt.case, batch, backend, engine: opt.engine,
    error: `${message} (tensors alive ${(tf.memory().numBytes / 2 ** 20).toFixed(0)} MB` +
      `${wasmHeapMB ? `, wasm heap ${wasmHeapMB.toFixed(0)} MB of 4096 MB max` : ''}, ${times.length} steps done)`,
    rssPeakMB: process.resourceUsage().maxRSS / 1024,
  }));
  process.exit(3);
}
const before = tf.memory().numBytes; // weights, inputs, optimizer state: what lives between steps
let profile = null;
if (opt.profile && opt.engine === 'tfjs') { // tf.profile sees no onnxruntime kernels
  t = performance.now();
  const info = await tf.profile(() => work.step());
  const wallMs = performance.now() - t;
  const byKernel = new Map();
  for (const k of info.kernels) {
    // customGrad wrappers (tf.fused.conv2d's `fusedConv2d__op`, 'unnamed scope') are listed beside the
    // kernels they run: counting them too would count those kernels twice.
    if (k.name.endsWith('__op') || k.name === 'unnamed scope') continue;
    const e = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    e.calls += 1;
    byKernel.set(k.name, e);
  }
  const kernels = [...byKernel].map(([name, e]) => ({ name, ms: e.ms, calls: e.calls })).sort((a, b) => b.ms - a.ms);
  profile = { wallMs, peakBytes: info.peakBytes, kernelMs: kernels.reduce((a, k) => a + k.ms, 0), kernels };
}
const extra = work.extra?.() ?? {}; // the onnxruntime engine's stage split (Mask R-CNN)
await work.dispose();
const sorted = [...times].sort((a, b) => a - b);
const mid = sorted.length >> 1;
const medianMs = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
console.log(
  JSON.stringify({
    case: opt.case,
    batch,
    backend,
    engine: opt.engine,
    fused: opt.fused,
    threads,
    medianMs,
    times,
    cpuMsPerStep,
    buildMs,
    liveBytes: before,
    profile,
    leakedTensors: tf.memory().numTensors,
    rssBaseMB,
    rssPeakMB: process.resourceUsage().maxRSS / 1024,
    ...extra,
  }),
);
