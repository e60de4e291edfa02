// No tfjs import here: a page's main thread can talk to its model worker without loading tfjs.
// Plain tensors (plain-tensor.ts) need tfjs and are exported from core's main entry.
export { listen, transferables, isWorkerMessage, type WorkerEndpoint, type WorkerMessage } from './worker-endpoint.js';
export { WorkerModel, type WorkerCallOptions } from './worker-model.js';
export { serveWorker, type WorkerCallContext, type WorkerHandler } from './serve-worker.js';
