// `npm run bench`: our tfjs timings next to PyTorch's, on this machine, in the same run (issue 9).
//
//   npm run bench                 # builds the packages, then the full run (under 10 minutes on 2 cores)
//   node tools/bench/run.mjs --quick          # ResNet-50 forward only, under 2 minutes
//   node tools/bench/run.mjs --only mrcnn-r50-infer,frcnn-r50-infer   # some cases (frcnn-*: only when named)
//   node tools/bench/run.mjs --cpu --out .bench/results.json           # also the tfjs-cpu row
//
// Every case runs in its own child process, one at a time (tools/bench/tfjs-case.mjs for tfjs,
// /usr/bin/python3 tools/bench/torch_bench.py for PyTorch), so that each one's peak RSS is its own
// and the two sides never compete for the cores. Timings: warm-up, then the median of several runs.
// Without Python/torch the tfjs columns are still printed. Never fails on a case: its error is shown.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CASES, MEMORY_GOAL } from './cases.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const PYTHON = process.env.RESIDUAL_PYTHON ?? '/usr/bin/python3';

const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    cpu: { type: 'boolean', default: false },
    'no-cpu': { type: 'boolean', default: false }, // the default now; kept so that old command lines work
    only: { type: 'string' },
    out: { type: 'string', default: join(root, '.bench', 'results.json') },
    threads: { type: 'string', default: String(os.availableParallelism()) },
    help: { type: 'boolean', default: false },
  },
});
if (opt.help) {
  console.log('node tools/bench/run.mjs [--quick] [--cpu] [--only id,id] [--threads N (torch)] [--out .bench/results.json]');
  console.log(`case ids: ${Object.keys(CASES).join(', ')}`);
  process.exit(0);
}

// [case, batch, backend, tfjs warm-up, tfjs repeats, torch warm-up, torch repeats, profile, fallback
// batch]. The backend may carry variants: 'wasm fused' runs the inference case with fuseForInference
// (Conv + BatchNorm (+ ReLU) as one conv), 'wasm fused 1-thread' also with one wasm thread instead of
// the default (the cores): the ResNet-50 rows measure both levers against the plain row. A row with no
// torch repeats shows the torch numbers of the case's row at that batch (same work, measured once).
// When tfjs runs out of memory at the batch (wasm's heap stops at 4 GiB), the case runs again at the
// fallback batch on both sides; the failed row stays in the table with PyTorch's numbers.
// The full run has to fit in 10 minutes on 2 cores (measured: 12.5 minutes at a load of 4–7 with
// Faster R-CNN training and more repeats, now trimmed), so: MAE-base fwd+bwd runs issue 9's batch 8 once
// after a warm-up, unprofiled (~50 s a step, 2.3 GB peak RSS); the ResNet-50 train step starts at batch 2
// (at 8 and 4 it runs out of the 4 GiB heap: docs/benchmarks.md); the detection
// inference steps (~40–50 s on wasm, ~15–20 s in torch) run one timed step after the warm-up, training
// rows one (three in torch for its ~1 s steps); only the Mask R-CNN inference row, which carries issue 9's
// detection goal, is profiled (the training step's profile took 49 s: docs/benchmarks.md has its split);
// the Faster R-CNN rows (the Mask R-CNN ones without the mask branch) run only when --only names them.
const FULL = [
  ['resnet50-fwd', 1, 'wasm', 1, 5, 3, 10, true],
  ['resnet50-fwd', 1, 'wasm fused', 1, 5, 0, 0, false],
  ['resnet50-fwd', 1, 'wasm fused 1-thread', 1, 5, 0, 0, false],
  ['resnet50-fwd', 8, 'wasm', 1, 2, 1, 3, true],
  ['resnet50-fwd', 8, 'wasm fused', 1, 2, 0, 0, false],
  ['resnet50-fwd', 8, 'wasm fused 1-thread', 1, 1, 0, 0, false],
  ['resnet50-fwd', 1, 'onnxruntime', 2, 7, 0, 0, false],
  ['resnet50-fwd', 8, 'onnxruntime', 1, 3, 0, 0, false],
  ['mae-base-fwdbwd', 8, 'wasm', 1, 1, 1, 2, false, 2],
  ['resnet50-train', 2, 'wasm', 1, 1, 1, 3, true],
  ['frcnn-r50-infer', 1, 'wasm fused', 1, 1, 1, 1, false],
  ['mrcnn-r50-infer', 1, 'wasm fused', 1, 1, 1, 1, true],
  ['mrcnn-r50-infer', 1, 'onnxruntime', 1, 1, 0, 0, false],
  ['frcnn-r50-train', 2, 'wasm', 1, 1, 1, 3, false, 1],
  ['mrcnn-r50-train', 2, 'wasm', 1, 1, 1, 3, false, 1],
  ['resnet50-fwd', 1, 'cpu', 1, 2, 0, 0, false], // tfjs-cpu (--cpu): ~10–20 s a forward; torch row already above
];
/** Cases of FULL that run only when --only names them. */
const ONLY_WHEN_NAMED = new Set(['frcnn-r50-infer', 'frcnn-r50-train']);
const QUICK = [
  ['resnet50-fwd', 1, 'wasm', 1, 3, 2, 5, true],
  ['resnet50-fwd', 1, 'wasm fused', 1, 3, 0, 0, false],
  ['resnet50-fwd', 8, 'wasm', 1, 2, 1, 3, false],
  ['resnet50-fwd', 1, 'onnxruntime', 1, 5, 0, 0, false],
  ['resnet50-fwd', 8, 'onnxruntime', 1, 3, 0, 0, false],
];
// Rows of backend 'onnxruntime' (issue 12) run the case with `--engine onnxruntime`: the dense parts in
// onnxruntime-node, the rest on tfjs-wasm. Their torch numbers are the wasm row's (same work, measured once)
// and their goal is the case's onnxGoal.
const only = opt.only ? new Set(opt.only.split(',').map((id) => id.trim())) : null;
for (const id of only ?? []) {
  if (!CASES[id]) throw new Error(`run.mjs: unknown case "${id}" in --only; expected some of ${Object.keys(CASES).join(', ')}`);
}
const plan = (opt.quick ? QUICK : FULL).filter(
  ([id, , backend]) => (backend !== 'cpu' || (opt.cpu && !opt['no-cpu'])) && (only ? only.has(id) : !ONLY_WHEN_NAMED.has(id)),
);

/** 'wasm fused 1-thread' → tfjs-case flags: --backend wasm --fused --wasm-threads 1. */
function variantFlags(variant) {
  const [backend, ...extras] = variant.split(' ');
  const flags = backend === 'onnxruntime' ? ['--backend', 'wasm', '--engine', 'onnxruntime'] : ['--backend', backend];
  for (const extra of extras) {
    if (extra === 'fused') flags.push('--fused');
    else if (/^\d+-threads?$/.test(extra)) flags.push('--wasm-threads', String(parseInt(extra, 10)));
    else throw new Error(`run.mjs: unknown variant "${extra}" in "${variant}"`);
  }
  return flags;
}

// A case's process is stopped after this long (a detection case on a loaded machine needs minutes).
const CHILD_TIMEOUT_S = 900;

function lastJsonLine(stdout) {
  const line = stdout.trim().split('\n').filter((l) => l.startsWith('{')).at(-1);
  return line ? JSON.parse(line) : null;
}

/** Runs a child, returns its JSON line or { error }. */
function child(cmd, args, timeoutS) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 * 2 ** 20, timeout: timeoutS * 1000 });
  if (r.error) return { error: r.error.code === 'ETIMEDOUT' ? `timed out after ${timeoutS} s` : r.error.message };
  try {
    const json = lastJsonLine(r.stdout ?? '');
    if (json && (r.status === 0 || json.error)) return json;
  } catch {
    // fall through to the error below
  }
  const tail = `${r.stderr ?? ''}${r.stdout ?? ''}`.trim().split('\n').slice(-3).join(' | ');
  return { error: `exit ${r.status ?? r.signal}: ${tail}` };
}

function torchAvailable() {
  const r = spawnSync(PYTHON, ['-c', 'import torch, torchvision; print(torch.__version__, torchvision.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? { ok: true, version: r.stdout.trim() } : { ok: false, why: (r.error?.message ?? r.stderr.trim().split('\n').at(-1)) || 'unknown' };
}

const torch = torchAvailable();
const require = createRequire(import.meta.url);
const machine = {
  cpu: os.cpus()[0]?.model ?? 'unknown',
  cores: os.availableParallelism(),
  memoryGB: +(os.totalmem() / 2 ** 30).toFixed(1),
  loadAverageAtStart: os.loadavg().map((v) => +v.toFixed(2)),
  node: process.version,
  tfjs: require('@tensorflow/tfjs-core/package.json').version,
  torch: torch.ok ? torch.version : null,
};
console.log(`residual bench: ${machine.cpu}, ${machine.cores} cores, load ${machine.loadAverageAtStart.join(' ')}; node ${machine.node}, tfjs ${machine.tfjs}`);
console.log(torch.ok ? `PyTorch ${torch.version} from ${PYTHON}, ${opt.threads} threads` : `PyTorch unavailable (${torch.why}): tfjs numbers only`);

const rows = [];
const started = Date.now();
const outOfMemory = (result) => /wasm heap|out of memory|Aborted|memory access out of bounds/i.test(result.error ?? '');

for (const [id, firstBatch, backend, warmup, repeats, tWarmup, tRepeats, profile, fallback] of plan) {
  const spec = CASES[id];
  for (const batch of fallback ? [firstBatch, fallback] : [firstBatch]) {
    const load = os.loadavg()[0];
    process.stdout.write(`  ${spec.label(batch)} [${backend}] … `);
    const common = ['--case', id, '--batch', String(batch), '--warmup', String(warmup), '--repeats', String(repeats)];
    const args = [join(here, 'tfjs-case.mjs'), ...common, ...variantFlags(backend), ...(profile ? ['--profile'] : [])];
    const ours = child(process.execPath, args, CHILD_TIMEOUT_S);
    let theirs = null;
    if (torch.ok && tRepeats > 0) {
      const targs = ['--case', id, '--batch', String(batch), '--warmup', String(tWarmup), '--repeats', String(tRepeats), '--threads', opt.threads];
      theirs = child(PYTHON, [join(here, 'torch_bench.py'), ...targs], CHILD_TIMEOUT_S);
    } else if (torch.ok) {
      theirs = rows.find((r) => r.id === id && r.batch === batch && r.torch)?.torch ?? null; // same work, measured once
    }
    const goal = backend === 'onnxruntime' ? spec.onnxGoal : spec.goal;
    rows.push({ id, batch, label: spec.label(batch), backend, goal, loadAverage1m: +load.toFixed(2), tfjs: ours, torch: theirs });
    process.stdout.write(`(load ${load.toFixed(1)}) `);
    const show = (x) => (!x ? '–' : x.error ? 'error' : `${x.medianMs.toFixed(0)} ms`);
    process.stdout.write(`${show(ours)} / ${show(theirs)}\n`);
    if (!outOfMemory(ours)) break;
  }
}

const f0 = (v) => (v == null || Number.isNaN(v) ? '–' : v >= 100 ? v.toFixed(0) : v.toFixed(1));
const noOrt = (x) => /onnxruntime-node/.test(x.error ?? '');
const table = [['case', 'ours ms', 'torch ms', 'ratio', 'goal', 'tfjs RSS MB', 'tfjs tensors MB', 'torch RSS MB', 'mem ratio']];
for (const r of rows) {
  const ok = !r.tfjs.error;
  const tOk = r.torch && !r.torch.error;
  const ratio = ok && tOk ? r.tfjs.medianMs / r.torch.medianMs : null;
  const memRatio = ok && tOk ? r.tfjs.rssPeakMB / r.torch.rssPeakMB : null;
  r.ratio = ratio;
  r.memRatio = memRatio;
  const goal = r.goal == null ? '–' : `≤${r.goal}× ${ratio == null ? '' : ratio <= r.goal ? 'met' : 'missed'}`;
  table.push([
    `${r.label} [${r.backend}]`,
    ok ? f0(r.tfjs.medianMs) : outOfMemory(r.tfjs) ? 'OOM' : noOrt(r.tfjs) ? 'no onnxruntime' : 'error',
    !r.torch ? 'n/a' : tOk ? f0(r.torch.medianMs) : 'error',
    ratio == null ? '–' : `${ratio.toFixed(2)}×`,
    goal,
    f0(r.tfjs.rssPeakMB),
    ok && r.tfjs.profile ? f0(r.tfjs.profile.peakBytes / 2 ** 20) : '–',
    tOk ? f0(r.torch.rssPeakMB) : '–',
    memRatio == null ? '–' : `${memRatio.toFixed(2)}× ${memRatio <= MEMORY_GOAL ? 'met' : 'missed'}`,
  ]);
}
const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
console.log('');
for (const [i, row] of table.entries()) {
  console.log(row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
  if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
}

// The two ResNet-50 levers side by side: fusion (plain vs fused, default threads) and wasm threads
// (fused, default vs 1). CPU ms per step (all threads) is less sensitive to the load than wall time.
const resnetRows = rows.filter((r) => r.id === 'resnet50-fwd' && r.backend.startsWith('wasm') && !r.tfjs.error);
if (resnetRows.length > 1) console.log('\nLevers, ResNet-50 224 forward on tfjs-wasm (median wall ms; CPU ms per step, all threads):');
for (const batch of [...new Set(resnetRows.map((r) => r.batch))]) {
  const at = (variant) => resnetRows.find((r) => r.batch === batch && r.backend === variant)?.tfjs;
  const [plain, fused, one] = [at('wasm'), at('wasm fused'), at('wasm fused 1-thread')];
  const show = (x) => `${f0(x.medianMs)} ms (CPU ${f0(x.cpuMsPerStep)})`;
  if (plain && fused) console.log(`  batch ${batch}: fusion: plain ${show(plain)} → fused ${show(fused)}, ${(plain.medianMs / fused.medianMs).toFixed(2)}× faster`);
  if (fused && one) console.log(`  batch ${batch}: threads: 1 thread ${show(one)} → ${fused.threads} threads ${show(fused)}, ${(one.medianMs / fused.medianMs).toFixed(2)}× faster`);
}

console.log('\nWhere tfjs time goes (one profiled step, tf.profile kernel times; share of the summed kernel time):');
for (const r of rows) {
  if (r.tfjs.error || !r.tfjs.profile) continue;
  const { kernelMs, kernels } = r.tfjs.profile;
  const top = kernels.slice(0, 5).map((k) => `${k.name} ${((100 * k.ms) / kernelMs).toFixed(0)}%`).join(', ');
  console.log(`  ${r.label} [${r.backend}]: ${f0(kernelMs)} ms of kernels in a ${f0(r.tfjs.profile.wallMs)} ms profiled step: ${top}`);
}
const split = rows.filter((r) => !r.tfjs.error && r.tfjs.stagesMs);
if (split.length) console.log('\nWhere the onnxruntime engine\'s time goes (last timed step; TS = transform, proposals, RoIAlign, postprocess, paste):');
for (const r of split) {
  const s = r.tfjs.stagesMs;
  const stages = Object.entries(s).filter(([k]) => k !== 'total').map(([k, v]) => `${k} ${f0(v)}`).join(', ');
  console.log(`  ${r.label} [${r.backend}]: TypeScript side ${(100 * r.tfjs.tsShare).toFixed(0)}% of ${f0(s.total)} ms (goal <15%, issue 12); ms per stage: ${stages}`);
}
for (const r of rows) {
  if (r.tfjs.error) console.log(`  tfjs error in ${r.label} [${r.backend}]: ${r.tfjs.error}`);
  if (r.torch?.error) console.log(`  torch error in ${r.label}: ${r.torch.error}`);
}
const mae = rows.find((r) => r.id === 'mae-base-fwdbwd' && r.torch && !r.torch.error);
if (mae) console.log(`\nPyTorch MAE: ${mae.torch.model}`);
const blas = rows.find((r) => r.torch?.blas)?.torch.blas;
if (blas) console.log(`PyTorch BLAS/oneDNN libraries mapped: ${blas.length ? blas.join(', ') : 'none found'}`);

const busiest = Math.max(...rows.map((r) => r.loadAverage1m));
if (busiest > machine.cores && !torch.ok) {
  console.log(`\nWarning: the machine was busy (1-minute load average up to ${busiest.toFixed(1)} on ${machine.cores} cores): the times are inflated.`);
} else if (busiest > machine.cores) {
  console.log(
    `\nWarning: the machine was busy (1-minute load average up to ${busiest.toFixed(1)} on ${machine.cores} cores): every time is inflated, ` +
      `threads that wait for each other at every barrier (PyTorch's ${opt.threads} OpenMP threads, tfjs-wasm's XNNPACK pool) more than one thread, so ratios between them are unreliable. Rerun on an idle machine to quote them.`,
  );
}
const missed = rows.filter((r) => r.ratio != null && r.goal != null && r.ratio > r.goal);
console.log('\nClosing note:');
if (!torch.ok) console.log('  PyTorch is unavailable here, so no ratio was measured.');
else if (missed.length === 0 && rows.some((r) => r.ratio != null)) console.log('  Every time goal measured here is met.');
for (const r of rows.filter((x) => outOfMemory(x.tfjs))) {
  const t = r.torch && !r.torch.error ? `; PyTorch's peak RSS for it was ${f0(r.torch.rssPeakMB)} MB` : '';
  console.log(`  ${r.label} [${r.backend}]: tfjs ran out of memory (${r.tfjs.error})${t}. The memory goal is missed there.`);
}
for (const r of missed) {
  if (r.backend === 'onnxruntime') {
    const ts = r.tfjs.tsShare == null ? '' : ` The TypeScript side took ${(100 * r.tfjs.tsShare).toFixed(0)}% of it.`;
    console.log(`  ${r.label} [onnxruntime]: ${r.ratio.toFixed(2)}× PyTorch (goal ≤${r.goal}×, issue 12).${ts}`);
    continue;
  }
  if (r.backend === 'cpu') {
    console.log(`  ${r.label} [${r.backend}]: ${r.ratio.toFixed(2)}× PyTorch (goal ≤${r.goal}×): tfjs-cpu runs plain JavaScript kernels; it is the fallback, not a target.`);
    continue;
  }
  if (!r.tfjs.profile) {
    console.log(`  ${r.label} [${r.backend}]: ${r.ratio.toFixed(2)}× PyTorch (goal ≤${r.goal}×); this row is not profiled.`);
    continue;
  }
  const k = r.tfjs.profile.kernels;
  const share = (name) => k.filter((x) => x.name.startsWith(name)).reduce((a, x) => a + x.ms, 0) / (r.tfjs.profile.kernelMs || 1);
  const conv = share('Conv2D') + share('FusedConv2D') + share('DepthwiseConv');
  const mm = share('BatchMatMul') + share('_FusedMatMul');
  const gather = share('GatherV2') + share('GatherNd');
  const gatherNote = gather >= 0.05 ? `, ${(100 * gather).toFixed(0)}% in gathers (RoIAlign's bilinear sampling)` : '';
  console.log(
    `  ${r.label} [${r.backend}]: ${r.ratio.toFixed(2)}× PyTorch (goal ≤${r.goal}×). ${(100 * conv).toFixed(0)}% of tfjs kernel time in convolutions, ` +
      `${(100 * mm).toFixed(0)}% in matmuls${gatherNote}; tfjs-wasm ran them on ${r.tfjs.threads ?? 1} thread(s) ` +
      `against PyTorch's ${r.torch.threads}.`,
  );
}
const seconds = Math.round((Date.now() - started) / 1000);
console.log(`\n${opt.quick ? 'quick ' : ''}bench done in ${seconds} s; load average now ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);

mkdirSync(dirname(opt.out), { recursive: true });
writeFileSync(opt.out, `${JSON.stringify({ date: new Date().toISOString(), quick: opt.quick, seconds, machine, rows }, null, 1)}\n`);
console.log(`wrote ${opt.out}`);
