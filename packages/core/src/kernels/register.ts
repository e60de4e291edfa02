import * as tf from '@tensorflow/tfjs-core';

/**
 * Registers, for the wasm backend, the gradient kernels it lacks (Conv2DBackpropFilter,
 * depthwise backprop, UnsortedSegmentSum), built from kernels wasm has. Idempotent.
 */
export function registerWasmGradientKernels(): void {
  // Filled in by kernels/*.ts (see the wasm gradient kernels work item).
  void tf;
}
