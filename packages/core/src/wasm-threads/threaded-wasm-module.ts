import type { KernelBackend } from '@tensorflow/tfjs-core';
import { writePthreadWorkerFile } from './pthread-worker-file.js';

/** The parts of `@tensorflow/tfjs-backend-wasm` that the threaded start needs. */
export interface WasmPackage {
  BackendWasm: new (module: never) => KernelBackend;
  setThreadsCount(count: number): void;
  getThreadsCount(): number;
  version_wasm: string;
}

/** An emscripten pthread worker as emscripten's PThread tracks it (a Node `Worker`). */
interface PthreadWorker {
  loaded?: boolean;
  unref(): void;
  terminate(): unknown;
}

/** The emscripten module of tfjs-backend-wasm-threaded-simd, as far as this file touches it. */
interface ThreadedModule {
  PThread: { unusedWorkers: PthreadWorker[]; runningWorkers: PthreadWorker[]; terminateAllThreads(): void };
  wasmMemory: { readonly buffer: ArrayBufferLike };
  cwrap(name: string, returnType: string | null, argTypes: string[]): (...args: number[]) => number;
  tfjs?: Record<string, (...args: number[]) => number>;
}

type Factory = (config: Record<string, unknown>) => Promise<ThreadedModule>;

/** The part of the WebAssembly global used here (the ES2022 lib without DOM does not declare it). */
interface WebAssemblyApi {
  instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: unknown; module: unknown }>;
}

/** tfjs-backend-wasm 4.22 builds its threaded binary with 8 pthread workers and caps XNNPACK at 8. */
export const MAX_WASM_THREADS = 8;

const FACTORY = 'tfjs-backend-wasm-threaded-simd.js';
const WORKER_MODULE = 'tfjs-backend-wasm-threaded-simd.worker.js';
const BINARY = 'tfjs-backend-wasm-threaded-simd.wasm';

/**
 * Starts tfjs-backend-wasm's threaded SIMD build in Node and returns a `BackendWasm` whose XNNPACK
 * pool runs `min(threads, 8)` threads. What it takes, in order (tfjs turns threads off in Node,
 * tfjs issue 3830):
 * - the emscripten factory and worker come from the package's `wasm-out/` as real files (the
 *   bundle's copy of the factory refers to rollup names and is started from a `blob:` URL); the
 *   worker script, shipped only as a string, is written to a file (`writePthreadWorkerFile`);
 * - tfjs's C++ caps the pool at `emscripten_num_logical_cores() / 2` (1 on two cores), read once
 *   when the module starts: the import is replaced so that it reports `2 * threads`;
 * - the pool is created only after the factory resolves, i.e. after all of emscripten's pthread
 *   workers have reported `loaded` (a pthread cannot start while the main thread blocks in
 *   `pthreadpool_create` waiting for it);
 * - the running workers are unref'd (emscripten refs a worker while its pthread runs, and XNNPACK's
 *   threads run for the life of the process, which must still be able to exit), and the pool's idle
 *   spare workers are terminated; `backend.dispose()` (tf.removeBackend) terminates the rest.
 * Live workers keep the realm that started them alive (measured under jest: every test file that
 * starts a pool keeps its tfjs engine and wasm heap until the jest worker exits), hence the default
 * of 1 thread under jest (`prepareWasmThreads`).
 * Throws if the module does not start within `timeoutMs`; its workers are terminated then.
 */
export async function createThreadedWasmBackend(
  wasm: WasmPackage,
  threads: number,
  timeoutMs: number,
): Promise<KernelBackend> {
  const path = process.getBuiltinModule('node:path');
  const fs = process.getBuiltinModule('node:fs');
  const { createRequire } = process.getBuiltinModule('node:module');
  const req = createRequire(typeof __filename === 'string' ? __filename : path.join(process.cwd(), 'index.js'));
  const wasmOut = path.join(path.dirname(req.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out');
  const factoryPath = path.join(wasmOut, FACTORY);
  const workerFile = writePthreadWorkerFile(
    (req(path.join(wasmOut, WORKER_MODULE)) as { wasmWorkerContents: string }).wasmWorkerContents,
    wasm.version_wasm,
  );
  const binary = fs.readFileSync(path.join(wasmOut, BINARY));
  const factory = req(factoryPath) as Factory;

  let abortReason: string | null = null;
  const config: Record<string, unknown> = {
    locateFile: (file: string) => (file.endsWith('.worker.js') ? workerFile : path.join(wasmOut, file)),
    mainScriptUrlOrBlob: factoryPath,
    onAbort: (what: unknown) => {
      abortReason = String(what);
    },
    instantiateWasm: (
      imports: { env: Record<string, unknown> },
      receive: (instance: unknown, module: unknown) => void,
    ) => {
      imports.env.emscripten_num_logical_cores = () => 2 * threads;
      const { WebAssembly: wasmApi } = globalThis as unknown as { WebAssembly: WebAssemblyApi };
      wasmApi.instantiate(binary, imports).then(
        (result) => receive(result.instance, result.module),
        (e: unknown) => {
          abortReason = `instantiating ${BINARY} failed: ${String(e)}`;
        },
      );
      return {};
    },
  };
  const module = await withTimeout(factory(config), timeoutMs, () => {
    const pthread = config.PThread as ThreadedModule['PThread'] | undefined;
    pthread?.terminateAllThreads();
    return `the threaded module did not start within ${timeoutMs} ms${abortReason ? ` (${abortReason})` : ''}`;
  });
  if (!module.PThread.unusedWorkers.every((w) => w.loaded)) {
    module.PThread.terminateAllThreads();
    throw new Error('emscripten resolved before its pthread workers had loaded');
  }
  module.tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  };
  followGrowingMemory(module);
  wasm.setThreadsCount(threads);
  const backend = new wasm.BackendWasm(module as never); // creates XNNPACK's pool: min(threads, 8)
  for (const worker of module.PThread.runningWorkers) worker.unref();
  for (const worker of module.PThread.unusedWorkers) worker.terminate();
  module.PThread.unusedWorkers = [];
  return backend;
}

/**
 * BackendWasm reads and writes tensors through `module.HEAPU8`, which emscripten refreshes only on
 * the thread that grew the memory; with threads a pool thread can grow it. The view is made a getter
 * that follows the shared memory's current buffer.
 */
function followGrowingMemory(module: ThreadedModule): void {
  const memory = module.wasmMemory;
  let view = new Uint8Array(memory.buffer);
  Object.defineProperty(module, 'HEAPU8', {
    configurable: true,
    get: () => {
      if (view.buffer !== memory.buffer) view = new Uint8Array(memory.buffer);
      return view;
    },
    set: () => undefined, // emscripten's own refresh; the getter already follows the memory
  });
}

async function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(onTimeout())), ms);
    timer.unref?.();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
