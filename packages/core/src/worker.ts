// Entry `@residual/core/worker`: run a model in a Web Worker or a worker_threads Worker (no Node imports).
export * from './worker/index.js';
