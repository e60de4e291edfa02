import * as tf from '@tensorflow/tfjs-core';
import { ValueError } from './errors.js';
import { registerWasmGradientKernels } from './kernels/register.js';
import { prepareWasmThreads } from './wasm-threads/prepare-wasm-threads.js';

/** residual's backend names; `'node'` is tfjs-node (tfjs's `'tensorflow'`). */
export type BackendName = 'node' | 'wasm' | 'cpu' | 'webgpu' | 'webgl';

const BACKENDS: readonly BackendName[] = ['node', 'wasm', 'cpu', 'webgpu', 'webgl'];
const NODE_ORDER: readonly BackendName[] = ['node', 'wasm', 'cpu'];
const BROWSER_ORDER: readonly BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

const TFJS_NAME: Record<BackendName, string> = {
  node: 'tensorflow',
  wasm: 'wasm',
  cpu: 'cpu',
  webgpu: 'webgpu',
  webgl: 'webgl',
};

// Package names kept in variables so bundlers and tsc do not try to resolve optional packages.
const PACKAGE: Record<BackendName, string> = {
  node: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
  webgpu: '@tensorflow/tfjs-backend-webgpu',
  webgl: '@tensorflow/tfjs-backend-webgl',
};

function isNode(): boolean {
  return typeof process !== 'undefined' && process.versions?.node != null;
}

async function loadPackage(name: BackendName): Promise<void> {
  const specifier = PACKAGE[name];
  await import(specifier);
}

async function tryBackend(name: BackendName, options: InitBackendOptions): Promise<string | null> {
  try {
    // A bundled app imports the backends it ships (bundlers cannot follow the computed import).
    if (!tf.findBackendFactory(TFJS_NAME[name])) await loadPackage(name);
  } catch (e) {
    return `${PACKAGE[name]} could not be loaded (${(e as Error).message.split('\n')[0]})`;
  }
  if (name === 'wasm' && isNode()) await prepareWasmThreads(options.wasmThreads);
  try {
    if (await tf.setBackend(TFJS_NAME[name])) {
      await tf.ready();
      return null;
    }
    return `tf.setBackend('${TFJS_NAME[name]}') returned false`;
  } catch (e) {
    return `backend '${TFJS_NAME[name]}' failed to initialise (${(e as Error).message.split('\n')[0]})`;
  }
}

/** Options of `initBackend`. */
export interface InitBackendOptions {
  /**
   * Node, wasm backend: threads for XNNPACK's pool (convolutions, matmuls); default
   * `RESIDUAL_WASM_THREADS`, else `os.availableParallelism()` (1 under jest, whose per-file module
   * registries a worker pool would keep alive); 1 runs tfjs's single-threaded build. Fixed once the
   * wasm backend has started; `wasmThreads()` reports the outcome.
   */
  wasmThreads?: number;
}

/**
 * Loads and selects the fastest available backend and returns residual's name for it.
 * Node order: node (tfjs-node) → wasm → cpu; browser order: webgpu → webgl → wasm → cpu.
 * `preferred`, or in Node the `RESIDUAL_BACKEND` environment variable, forces one backend and
 * throws if it cannot load. On wasm it also registers the gradient kernels wasm lacks, and in Node
 * runs tfjs's threaded SIMD build on `options.wasmThreads` threads (see `InitBackendOptions`).
 * A backend already registered (the app imported its package, as bundled browser apps must) is
 * used as is; in a browser, call tfjs-backend-wasm's `setWasmPaths(url)` first so it finds its `.wasm` files.
 */
export async function initBackend(preferred?: BackendName, options: InitBackendOptions = {}): Promise<BackendName> {
  const fromEnv = isNode() ? process.env.RESIDUAL_BACKEND : undefined;
  const forced = preferred ?? (fromEnv ? (fromEnv as BackendName) : undefined);
  if (forced !== undefined && !BACKENDS.includes(forced)) {
    const source = preferred !== undefined ? 'initBackend' : 'RESIDUAL_BACKEND';
    throw new ValueError(`${source}: unknown backend "${forced}", expected one of ${BACKENDS.join(', ')}`);
  }
  const candidates = forced ? [forced] : isNode() ? NODE_ORDER : BROWSER_ORDER;
  const failures: string[] = [];
  for (const name of candidates) {
    const failure = await tryBackend(name, options);
    if (failure === null) {
      if (name === 'wasm') registerWasmGradientKernels();
      return name;
    }
    failures.push(`${name}: ${failure}`);
  }
  const why = failures.join('; ');
  throw new ValueError(
    forced ? `initBackend: backend "${forced}" is not available: ${why}` : `initBackend: no backend could be loaded: ${why}`,
  );
}

/** residual's name of the active tfjs backend (e.g. `'node'` for tfjs's `'tensorflow'`). */
export function backendName(): BackendName | string {
  const tfName = tf.getBackend();
  const entry = Object.entries(TFJS_NAME).find(([, v]) => v === tfName);
  return entry ? (entry[0] as BackendName) : tfName;
}
