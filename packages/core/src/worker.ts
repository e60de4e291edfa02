// Entry `@residual/core/worker`: run a model in a Web Worker or a worker_threads Worker (no Node imports,
// no tfjs: the page that talks to the worker stays small).
export * from './worker/index.js';
