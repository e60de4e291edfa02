export { listen, transferables, isWorkerMessage, type WorkerEndpoint, type WorkerMessage } from './worker-endpoint.js';
export { WorkerModel, type WorkerCallOptions } from './worker-model.js';
export { serveWorker, type WorkerCallContext, type WorkerHandler } from './serve-worker.js';
export { toPlainTensor, fromPlainTensor, type PlainTensor } from './plain-tensor.js';
