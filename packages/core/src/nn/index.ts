export { Module, type StateDict, type LoadStateDictOptions, type LoadStateDictResult } from './module.js';
export { identityLayout, conv2dLayout, linearLayout, type TorchLayout } from './layout.js';
