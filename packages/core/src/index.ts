export { ShapeError, StateDictError, ValueError, assertShape, assertDtype, formatShape } from './errors.js';
export { initBackend, backendName, type BackendName } from './backend.js';
export { Generator, type GeneratorState } from './generator.js';
export { Module, type StateDict, type LoadStateDictOptions, type LoadStateDictResult } from './nn/module.js';
export { identityLayout, conv2dLayout, linearLayout, type TorchLayout } from './nn/layout.js';
export { readSafetensors, type SafetensorsDtype, type SafetensorsContents } from './io/safetensors.js';
