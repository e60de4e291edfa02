import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { buildSync } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { initBackend } from '@residual/core';
import { wasmThreads, type WasmThreadsInfo } from './wasm-threads-info';

// tfjs-backend-wasm keeps its kernels' entry points in module globals, so two wasm backends cannot
// run side by side in one process: the single-thread reference runs in a child process. The child
// is this script bundled by esbuild (tfjs stays external) and written under node_modules/.cache so
// that Node resolves @tensorflow/* from the repository. It computes the forward and backward
// kernels of a training step (conv, fused conv+bias+ReLU, matmul, both conv gradients), prints
// them as one JSON line, and then simply ends: a child that hangs fails the test by its timeout.
const CHILD_SOURCE = `
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from './backend';
import { wasmThreads } from './wasm-threads/wasm-threads-info';
const values = (shape: number[], seed: number) => {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = Math.sin(seed + i * 0.7) * Math.cos(i * 0.013);
  return tf.tensor(v, shape);
};
const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC' } as const;
(async () => {
  await initBackend('wasm');
  const x = values([2, 20, 20, 32], 0) as tf.Tensor4D;
  const w = values([3, 3, 32, 48], 1) as tf.Tensor4D;
  const bias = values([48], 2) as tf.Tensor1D;
  const dy = values([2, 20, 20, 48], 3) as tf.Tensor4D;
  const outputs = [
    tf.conv2d(x, w, [2, 1], 'same'),
    tf.fused.conv2d({ x, filter: w, strides: 1, pad: 'same', bias, activation: 'relu' }),
    tf.matMul(values([192, 256], 4), values([256, 96], 5)),
    tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { ...attrs, filterShape: [3, 3, 32, 48] }) as tf.Tensor,
    tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter: w }, { ...attrs, inputShape: [2, 20, 20, 32] }) as tf.Tensor,
  ];
  const info = wasmThreads();
  process.stdout.write(JSON.stringify({ info, outputs: outputs.map((t) => Array.from(t.dataSync())) }) + '\\n');
})();
`;

const repoRoot = path.resolve(__dirname, '..', '..', '..', '..');
const childDir = path.join(repoRoot, 'node_modules', '.cache', 'residual-core-tests');
const childFile = path.join(childDir, `wasm-threads-child-${process.pid}.js`);

interface ChildResult {
  info: WasmThreadsInfo;
  outputs: number[][];
}

function runChild(env: Record<string, string | undefined>): ChildResult {
  const merged: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, RESIDUAL_BACKEND: '', RESIDUAL_WASM_THREADS: '', ...env })) {
    if (v !== undefined) merged[k] = v;
  }
  const run = spawnSync(process.execPath, [childFile], {
    env: merged,
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 64 * 2 ** 20,
  });
  if (run.status !== 0) throw new Error(`child exited ${run.status} (signal ${run.signal}): ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '') as ChildResult;
}

/** Max |a − b| / max(|b|, 1e-3). */
function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), 1e-3));
  return m;
}

describe('the wasm backend on threads in Node', () => {
  beforeAll(async () => {
    await initBackend('wasm', { wasmThreads: 2 });
    mkdirSync(childDir, { recursive: true });
    const bundle = buildSync({
      stdin: { contents: CHILD_SOURCE, resolveDir: path.join(__dirname, '..'), loader: 'ts' },
      bundle: true,
      platform: 'node',
      format: 'cjs',
      external: ['@tensorflow/*'],
      write: false,
      logLevel: 'silent',
    });
    writeFileSync(childFile, bundle.outputFiles[0].text);
  });
  afterAll(() => rmSync(childFile, { force: true }));

  it('runs XNNPACK on the requested threads and says so', () => {
    expect(getThreadsCount()).toBe(2);
    expect(wasmThreads()).toEqual({ count: 2, requested: 2, source: 'option', reason: null });
  });

  it('keeps the thread count of a running backend and reports a differing request', async () => {
    await initBackend('wasm', { wasmThreads: 3 });
    expect(wasmThreads()).toEqual({
      count: 2,
      requested: 3,
      source: 'option',
      reason: 'the wasm backend was already running on 2 thread(s); its thread count is fixed for the process',
    });
    await initBackend('wasm', { wasmThreads: 2 });
    expect(wasmThreads()?.reason).toBeNull();
  });

  it('rejects a bad RESIDUAL_WASM_THREADS before touching the backend', async () => {
    const saved = process.env.RESIDUAL_WASM_THREADS;
    process.env.RESIDUAL_WASM_THREADS = 'all';
    try {
      await expect(initBackend('wasm')).rejects.toThrow('RESIDUAL_WASM_THREADS: expected a positive integer, got "all"');
    } finally {
      if (saved === undefined) delete process.env.RESIDUAL_WASM_THREADS;
      else process.env.RESIDUAL_WASM_THREADS = saved;
    }
    expect(wasmThreads()?.count).toBe(2);
  });

  it('trains on threads: tf.grads through a conv gives the conv backprop kernels', () => {
    const [dx, dw, expectedDx, expectedDw] = tf.tidy(() => {
      const x = tf.randomNormal([2, 12, 12, 8], 0, 1, 'float32', 1) as tf.Tensor4D;
      const w = tf.randomNormal([3, 3, 8, 16], 0, 1, 'float32', 2) as tf.Tensor4D;
      const dy = tf.randomNormal([2, 12, 12, 16], 0, 1, 'float32', 3) as tf.Tensor4D;
      // loss = Σ conv(x, w) · dy, so dL/dconv = dy
      const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'), dy)),
      )([x, w]);
      const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC' } as const;
      return [
        gx,
        gw,
        tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter: w }, { ...attrs, inputShape: x.shape }) as tf.Tensor,
        tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { ...attrs, filterShape: w.shape }) as tf.Tensor,
      ];
    });
    expect(maxRelDiff(dx.dataSync(), expectedDx.dataSync())).toBeLessThanOrEqual(1e-6);
    expect(maxRelDiff(dw.dataSync(), expectedDw.dataSync())).toBeLessThanOrEqual(1e-6);
    expect(tf.max(tf.abs(dw)).dataSync()[0]).toBeGreaterThan(1);
    tf.dispose([dx, dw, expectedDx, expectedDw]);
  });

  it('gives the single-thread results within 1e-6 relative, and the processes exit by themselves', () => {
    const single = runChild({ RESIDUAL_WASM_THREADS: '1' });
    const threaded = runChild({ RESIDUAL_WASM_THREADS: '2' });
    expect(single.info).toEqual({ count: 1, requested: 1, source: 'env', reason: null });
    expect(threaded.info).toEqual({ count: 2, requested: 2, source: 'env', reason: null });
    expect(threaded.outputs.map((o) => o.length)).toEqual([2 * 10 * 20 * 48, 2 * 20 * 20 * 48, 192 * 96, 3 * 3 * 32 * 48, 2 * 20 * 20 * 32]);
    threaded.outputs.forEach((o, i) => expect(maxRelDiff(o, single.outputs[i])).toBeLessThanOrEqual(1e-6));
  });

  it('defaults to the available cores, and to 1 thread under jest', () => {
    const cores = os.availableParallelism();
    expect(runChild({ JEST_WORKER_ID: undefined }).info).toEqual({
      count: Math.min(cores, 8),
      requested: cores,
      source: 'default',
      reason: cores > 8 ? 'tfjs-backend-wasm 4.22 runs at most 8 threads' : null,
    });
    expect(runChild({ JEST_WORKER_ID: '1' }).info).toEqual({ count: 1, requested: 1, source: 'default', reason: null });
  });

  it('falls back to one thread, with the reason, when the threaded build cannot start', () => {
    // the worker script cannot be written: emscripten's pthread workers have no file to start from
    const missing = path.join(childDir, 'no-such-dir');
    const fallback = runChild({ RESIDUAL_WASM_THREADS: '2', TMPDIR: missing });
    expect(fallback.info).toMatchObject({ count: 1, requested: 2, source: 'env' });
    expect(fallback.info.reason).toMatch(
      /^the threaded wasm build failed to start \(ENOENT: no such file or directory, open '.*no-such-dir.*'\); running tfjs's single-threaded build$/,
    );
    expect(fallback.outputs[2].length).toBe(192 * 96);
  });
});
