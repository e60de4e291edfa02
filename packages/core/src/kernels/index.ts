export { registerWasmGradientKernels } from './register.js';
