import { ValueError } from '../errors.js';

/** Where a requested wasm thread count came from. */
export type WasmThreadsSource = 'option' | 'env' | 'default';

/** A validated thread count and where it came from. */
export interface RequestedWasmThreads {
  /** Threads asked for, ≥ 1. */
  readonly count: number;
  /** `'option'`: `initBackend`'s `wasmThreads`; `'env'`: `RESIDUAL_WASM_THREADS`; `'default'`: the cores. */
  readonly source: WasmThreadsSource;
}

/** The environment variable that sets the wasm thread count in Node. */
export const WASM_THREADS_ENV = 'RESIDUAL_WASM_THREADS';

/**
 * The thread count the wasm backend should run on in Node: `option` if given, else
 * `RESIDUAL_WASM_THREADS`, else `defaultCount` (the caller passes `os.availableParallelism()`).
 * Throws a ValueError naming the source when the value is not a positive integer.
 */
export function resolveWasmThreads(
  option: number | undefined,
  env: string | undefined,
  defaultCount: number,
): RequestedWasmThreads {
  if (option !== undefined) {
    if (!Number.isInteger(option) || option < 1) {
      throw new ValueError(`initBackend: options.wasmThreads must be a positive integer, got ${String(option)}`);
    }
    return { count: option, source: 'option' };
  }
  if (env !== undefined && env.trim() !== '') {
    const text = env.trim();
    const count = Number(text);
    if (!/^\d+$/.test(text) || count < 1) {
      throw new ValueError(`${WASM_THREADS_ENV}: expected a positive integer, got "${env}"`);
    }
    return { count, source: 'env' };
  }
  return { count: Math.max(1, Math.floor(defaultCount)), source: 'default' };
}
