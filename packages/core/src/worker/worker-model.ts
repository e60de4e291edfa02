import { ShapeError, StateDictError, ValueError } from '../errors.js';
import { isWorkerMessage, listen, transferables, type WorkerEndpoint, type WorkerMessage } from './worker-endpoint.js';

/** Options of {@link WorkerModel.call}. */
export interface WorkerCallOptions {
  /** Receives what the handler reports with `context.progress(...)` (e.g. bytes of weights loaded). */
  onProgress?: (progress: unknown) => void;
  /** Rejects the call with an `AbortError`; the worker finishes its current step and its answer is dropped. */
  signal?: AbortSignal;
  /** Move the payload's whole-buffer typed arrays to the worker (default true); false copies them. */
  transfer?: boolean;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  onProgress?: (progress: unknown) => void;
  cleanup(): void;
}

const ERRORS: Record<string, new (message: string) => Error> = { ShapeError, StateDictError, ValueError, TypeError, RangeError };

/** The worker's error as the caller's: residual's typed errors keep their class, others keep their name. */
function remoteError(name: string, message: string): Error {
  const Known = ERRORS[name];
  if (Known) return new Known(message);
  const error = new Error(message);
  error.name = name;
  return error;
}

/**
 * The caller's side of a model that runs in a Web Worker (browser) or a `worker_threads` Worker
 * (Node): `call(method, payload)` posts the payload — its typed arrays transferred, not copied —
 * to the {@link serveWorker} handler of that name and resolves with the handler's result (its typed
 * arrays transferred back). Calls may overlap; each resolves with its own answer. The endpoint is
 * borrowed: `close()` stops listening and rejects pending calls, the caller terminates the worker.
 */
export class WorkerModel {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly stop: Array<() => void>;

  constructor(private readonly endpoint: WorkerEndpoint) {
    this.stop = [
      listen(endpoint, 'message', (message) => this.receive(message)),
      listen(endpoint, 'error', (error) => this.failAll(`WorkerModel: the worker failed: ${(error as { message?: string }).message ?? String(error)}`)),
    ];
  }

  /** Calls the worker's handler `method` with `payload` (structured-cloneable); see {@link WorkerCallOptions}. */
  call<Result = unknown>(method: string, payload?: unknown, options: WorkerCallOptions = {}): Promise<Result> {
    const { signal, onProgress, transfer = true } = options;
    if (signal?.aborted) return Promise.reject(abortError(method));
    const id = this.nextId++;
    return new Promise<Result>((resolve, reject) => {
      const onAbort = (): void => {
        this.pending.get(id)?.cleanup();
        reject(abortError(method));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const cleanup = (): void => {
        this.pending.delete(id);
        signal?.removeEventListener('abort', onAbort);
      };
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, onProgress, cleanup });
      const message: WorkerMessage = { residual: 'call', id, method, payload };
      try {
        this.endpoint.postMessage(message, transfer ? transferables(payload) : []);
      } catch (e) {
        cleanup();
        reject(e as Error);
      }
    });
  }

  /** Calls still waiting for their answer. */
  get pendingCalls(): number {
    return this.pending.size;
  }

  /** Stops listening and rejects the pending calls; the worker itself is the caller's to terminate. */
  close(): void {
    this.failAll('WorkerModel: closed before the worker answered');
    for (const stop of this.stop) stop();
  }

  private receive(message: unknown): void {
    if (!isWorkerMessage(message) || message.residual === 'call') return;
    const call = this.pending.get(message.id);
    if (!call) return;
    if (message.residual === 'progress') {
      call.onProgress?.(message.progress);
      return;
    }
    call.cleanup();
    if (message.residual === 'reply') call.resolve(message.result);
    else call.reject(remoteError(message.name, message.message));
  }

  private failAll(reason: string): void {
    for (const call of [...this.pending.values()]) {
      call.cleanup();
      call.reject(new Error(reason));
    }
  }
}

function abortError(method: string): Error {
  const error = new Error(`WorkerModel: call "${method}" was aborted`);
  error.name = 'AbortError';
  return error;
}
