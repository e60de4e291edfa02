/**
 * One side of a message channel: a browser `Worker` or `self` inside one, a Node `worker_threads`
 * `Worker` or `parentPort`, or a `MessagePort`. Only what both worlds share is required; the listener
 * methods are Node's EventEmitter style (`on`/`off`) or the DOM's (`addEventListener`).
 */
export interface WorkerEndpoint {
  /** Posts a structured-cloneable message; the ArrayBuffers in `transfer` move (the sender's become empty). */
  postMessage(message: unknown, transfer: ArrayBuffer[]): void;
  on?(event: 'message' | 'error', listener: (value: unknown) => void): unknown;
  off?(event: 'message' | 'error', listener: (value: unknown) => void): unknown;
  addEventListener?(type: 'message' | 'error', listener: (event: unknown) => void): void;
  removeEventListener?(type: 'message' | 'error', listener: (event: unknown) => void): void;
  /** MessagePorts deliver DOM-style events only once started. */
  start?(): void;
}

/** The messages of the worker protocol; `residual` tags them so other traffic on the port is ignored. */
export type WorkerMessage =
  | { residual: 'call'; id: number; method: string; payload: unknown }
  | { residual: 'reply'; id: number; result: unknown }
  | { residual: 'error'; id: number; name: string; message: string }
  | { residual: 'progress'; id: number; progress: unknown };

/** True for a message of the worker protocol. */
export function isWorkerMessage(value: unknown): value is WorkerMessage {
  return typeof value === 'object' && value !== null && typeof (value as { residual?: unknown }).residual === 'string';
}

/**
 * Listens for `event` on `endpoint` in whichever style it supports, handing listeners the message
 * itself (DOM events are unwrapped from `.data`), and returns the function that stops listening.
 */
export function listen(endpoint: WorkerEndpoint, event: 'message' | 'error', listener: (value: unknown) => void): () => void {
  if (endpoint.on) {
    endpoint.on(event, listener);
    return () => endpoint.off?.(event, listener);
  }
  if (endpoint.addEventListener) {
    const unwrap = (e: unknown): void => listener(event === 'message' ? (e as { data: unknown }).data : e);
    endpoint.addEventListener(event, unwrap);
    if (event === 'message') endpoint.start?.();
    return () => endpoint.removeEventListener?.(event, unwrap);
  }
  throw new TypeError('listen: the endpoint has neither on() nor addEventListener()');
}

// By tag, not instanceof: buffers from another realm (a vm context, an iframe) are ArrayBuffers too.
// SharedArrayBuffers are shared, never moved.
function isArrayBuffer(value: unknown): value is ArrayBuffer {
  return Object.prototype.toString.call(value) === '[object ArrayBuffer]';
}

// A plain object of any realm: its prototype is null or some realm's Object.prototype.
function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === null || Object.getPrototypeOf(proto) === null;
}

/**
 * The ArrayBuffers that can move with `value` instead of being copied: those of typed arrays (in
 * plain objects and arrays, any depth) that cover their whole buffer. A view on part of a buffer
 * (Node's pooled Buffers, a slice of wasm memory) is copied, so moving it cannot empty other data.
 */
export function transferables(value: unknown): ArrayBuffer[] {
  const found = new Set<ArrayBuffer>();
  const visit = (v: unknown, depth: number): void => {
    if (v === null || typeof v !== 'object' || depth > 8) return;
    if (ArrayBuffer.isView(v)) {
      const buffer = v.buffer;
      if (isArrayBuffer(buffer) && v.byteOffset === 0 && v.byteLength === buffer.byteLength) found.add(buffer);
      return;
    }
    if (isArrayBuffer(v)) {
      found.add(v);
      return;
    }
    const items = Array.isArray(v) ? v : isPlainObject(v) ? Object.values(v) : [];
    for (const item of items) visit(item, depth + 1);
  };
  visit(value, 0);
  return [...found];
}
