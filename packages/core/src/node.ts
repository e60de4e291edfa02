// Node-only entry `@residual/core/node`: file IO that the browser-safe main entry leaves out.
export { loadSafetensors, saveSafetensors } from './io/safetensors-file.js';
export { writeFileAtomic } from './io/write-file-atomic.js';
