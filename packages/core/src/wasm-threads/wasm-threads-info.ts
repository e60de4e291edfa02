import type { WasmThreadsSource } from './thread-count.js';

/** How many threads the wasm backend runs on, and why not more. */
export interface WasmThreadsInfo {
  /** Threads XNNPACK's pool runs convolutions and matmuls on (1: single-threaded). */
  readonly count: number;
  /** Threads asked for: `initBackend`'s `wasmThreads`, else `RESIDUAL_WASM_THREADS`, else the cores. */
  readonly requested: number;
  /** Where `requested` came from. */
  readonly source: WasmThreadsSource;
  /** Why `count` differs from `requested` (a failed start, a cap), or null when it does not. */
  readonly reason: string | null;
}

let current: WasmThreadsInfo | null = null;

/**
 * The wasm backend's thread count in Node, with the reason when it is lower than asked: null until
 * `initBackend` has started the wasm backend in Node (browsers: always null; tfjs decides there).
 */
export function wasmThreads(): WasmThreadsInfo | null {
  return current;
}

/** Records the thread state that `wasmThreads()` reports (internal to wasm-threads). */
export function setWasmThreadsInfo(info: WasmThreadsInfo): void {
  current = info;
}
