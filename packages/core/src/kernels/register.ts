import * as tf from '@tensorflow/tfjs-core';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter.js';
import { depthwiseConv2dBackpropFilterConfig } from './depthwise-conv2d-backprop-filter.js';
import { depthwiseConv2dBackpropInputConfig } from './depthwise-conv2d-backprop-input.js';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum.js';
import { overrideWasmConv2dBackpropInput } from './conv2d-backprop-input.js';
import { guardWasmEmptyReductions } from './empty-reductions.js';
import { overrideWasmBatchMatMul } from './batch-mat-mul.js';
import { overrideWasmIdentity } from './identity.js';

const WASM_GRADIENT_KERNELS: readonly tf.KernelConfig[] = [
  conv2dBackpropFilterConfig,
  depthwiseConv2dBackpropFilterConfig,
  depthwiseConv2dBackpropInputConfig,
  unsortedSegmentSumConfig,
];

/**
 * Registers, for the wasm backend, the gradient kernels tfjs-backend-wasm 4.22 lacks
 * (Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropFilter, DepthwiseConv2dNativeBackpropInput,
 * UnsortedSegmentSum), built from kernels wasm has, and swaps wasm's slow native Conv2DBackpropInput
 * for a convolution-based one (see conv2d-backprop-input.ts). Idempotent: a kernel already registered
 * for 'wasm' (by an earlier call or a newer tfjs) is left alone. Returns the names it registered.
 * Called by `initBackend('wasm')`; call it yourself after `tf.setBackend('wasm')` without initBackend.
 */
export function registerWasmGradientKernels(): string[] {
  const registered: string[] = [];
  for (const config of WASM_GRADIENT_KERNELS) {
    if (tf.getKernel(config.kernelName, 'wasm') !== undefined) continue;
    tf.registerKernel(config);
    registered.push(config.kernelName);
  }
  // wasm has Conv2DBackpropInput, but as a naive loop 5–10× slower than expressing it as a convolution.
  if (overrideWasmConv2dBackpropInput()) registered.push(tf.Conv2DBackpropInput);
  // wasm multiplies transposed operands in a slow loop; every matMul gradient has one.
  if (overrideWasmBatchMatMul()) registered.push(tf.BatchMatMul);
  // wasm's Identity copies; every tensor a gradient saves goes through it (clone), so share instead.
  if (overrideWasmIdentity()) registered.push(tf.Identity);
  // wasm reductions over an empty axis return uninitialised memory; give them defined values.
  registered.push(...guardWasmEmptyReductions());
  return registered;
}
