import { isWorkerMessage, listen, transferables, type WorkerEndpoint } from './worker-endpoint.js';

/** What a handler gets besides its payload. */
export interface WorkerCallContext {
  /** Sends a progress value to the caller's `onProgress` (structured-cloneable, copied). */
  progress(value: unknown): void;
}

/** One method of a worker: payload in, result out (typed arrays in the result are transferred). */
export type WorkerHandler = (payload: unknown, context: WorkerCallContext) => unknown;

/**
 * The worker's side of {@link WorkerModel}: answers each call on `endpoint` (`self` in a Web Worker,
 * `parentPort` in a worker_threads Worker) with `handlers[method](payload, context)`, awaited. A
 * thrown error goes back with its name and message (residual's typed errors are rebuilt as such);
 * an unknown method is a ValueError-named error listing the methods. Calls run as they arrive;
 * handlers that share a model should await one another. Returns the function that stops serving.
 */
export function serveWorker(endpoint: WorkerEndpoint, handlers: Readonly<Record<string, WorkerHandler>>): () => void {
  return listen(endpoint, 'message', (message) => {
    if (!isWorkerMessage(message) || message.residual !== 'call') return;
    const { id, method, payload } = message;
    const context: WorkerCallContext = {
      progress: (progress) => endpoint.postMessage({ residual: 'progress', id, progress }, []),
    };
    const answer = async (): Promise<unknown> => {
      const handler = Object.prototype.hasOwnProperty.call(handlers, method) ? handlers[method] : undefined;
      if (!handler) {
        const error = new Error(`serveWorker: unknown method "${method}" (methods: ${Object.keys(handlers).join(', ')})`);
        error.name = 'ValueError';
        throw error;
      }
      return handler(payload, context);
    };
    answer().then(
      (result) => endpoint.postMessage({ residual: 'reply', id, result }, transferables(result)),
      (e: unknown) => {
        const error = e instanceof Error ? e : new Error(String(e));
        endpoint.postMessage({ residual: 'error', id, name: error.name, message: error.message }, []);
      },
    );
  });
}
