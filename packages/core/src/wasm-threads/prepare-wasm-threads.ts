import * as tf from '@tensorflow/tfjs-core';
import { createThreadedWasmBackend, MAX_WASM_THREADS, type WasmPackage } from './threaded-wasm-module.js';
import { resolveWasmThreads, WASM_THREADS_ENV, type RequestedWasmThreads } from './thread-count.js';
import { setWasmThreadsInfo, wasmThreads } from './wasm-threads-info.js';

/** tfjs-backend-wasm registers 'wasm' with priority 2; the replacement keeps it. */
const WASM_PRIORITY = 2;
/** How long the threaded module may take to start (8 workers load the module) before falling back. */
const START_TIMEOUT_MS = 60_000;

type BackendFactory = () => tf.KernelBackend | Promise<tf.KernelBackend>;

/** tfjs-backend-wasm's own factory (single-threaded in Node), kept for the fallback. */
let stockFactory: BackendFactory | null = null;

/**
 * Node only; call after the 'wasm' backend is registered and before `tf.setBackend('wasm')`.
 * Resolves the thread count (`option`, else `RESIDUAL_WASM_THREADS`, else `os.availableParallelism()`
 * — 1 under jest, see below; a ValueError names the source of a bad value) and registers the 'wasm' backend factory to match:
 * tfjs's own single-threaded one for 1 thread, else one that starts the threaded SIMD build
 * (`createThreadedWasmBackend`) and, if that fails, falls back to tfjs's own, recording why.
 * `wasmThreads()` reports the outcome once the backend has started. If the wasm backend is already
 * running, nothing changes (its thread count is fixed for the process) and a differing request is
 * reported in `wasmThreads().reason`.
 */
export async function prepareWasmThreads(option?: number): Promise<void> {
  const wasm = await loadWasmPackage();
  const os = process.getBuiltinModule('node:os');
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  // jest runs many test files in one process, each with its own tfjs: a file's pthread workers keep
  // its whole module registry (engine, wasm heap) alive until the process exits. Opt in there.
  const underJest = process.env.JEST_WORKER_ID !== undefined;
  const requested = resolveWasmThreads(option, process.env[WASM_THREADS_ENV], underJest ? 1 : cores);
  if (tf.engine().registry.wasm !== undefined) {
    reportAlreadyRunning(wasm, requested);
    return;
  }
  stockFactory ??= tf.findBackendFactory('wasm');
  const stock = stockFactory;
  tf.removeBackend('wasm');
  if (requested.count === 1) {
    tf.registerBackend('wasm', () => {
      setWasmThreadsInfo({ count: 1, requested: 1, source: requested.source, reason: null });
      return stock();
    }, WASM_PRIORITY);
    return;
  }
  tf.registerBackend('wasm', () => startThreaded(wasm, requested, stock), WASM_PRIORITY);
}

/** The package kept in a variable, as backend.ts does, so bundlers do not follow it. */
async function loadWasmPackage(): Promise<WasmPackage> {
  const specifier = '@tensorflow/tfjs-backend-wasm';
  const pkg = (await import(specifier)) as WasmPackage & { default?: WasmPackage };
  return typeof pkg.BackendWasm === 'function' ? pkg : (pkg.default as WasmPackage);
}

async function startThreaded(
  wasm: WasmPackage,
  requested: RequestedWasmThreads,
  stock: BackendFactory,
): Promise<tf.KernelBackend> {
  let backend: tf.KernelBackend;
  try {
    backend = await createThreadedWasmBackend(wasm, requested.count, START_TIMEOUT_MS);
  } catch (e) {
    const why = (e as Error).message?.split('\n')[0] ?? String(e);
    setWasmThreadsInfo({
      count: 1,
      requested: requested.count,
      source: requested.source,
      reason: `the threaded wasm build failed to start (${why}); running tfjs's single-threaded build`,
    });
    return stock();
  }
  const count = wasm.getThreadsCount();
  let reason: string | null = null;
  if (count !== requested.count) {
    reason =
      requested.count > MAX_WASM_THREADS
        ? `tfjs-backend-wasm 4.22 runs at most ${MAX_WASM_THREADS} threads`
        : `XNNPACK's pool started ${count} of ${requested.count} threads`;
  }
  setWasmThreadsInfo({ count, requested: requested.count, source: requested.source, reason });
  return backend;
}

function reportAlreadyRunning(wasm: WasmPackage, requested: RequestedWasmThreads): void {
  const info = wasmThreads();
  const count = info?.count ?? wasm.getThreadsCount();
  if (info !== null && info.requested === requested.count) return;
  setWasmThreadsInfo({
    count,
    requested: requested.count,
    source: requested.source,
    reason:
      count === requested.count
        ? null
        : `the wasm backend was already running on ${count} thread(s); its thread count is fixed for the process`,
  });
}
