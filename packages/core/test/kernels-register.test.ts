import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '@residual/test-utils';
import { registerWasmGradientKernels } from '@residual/core';

const NAMES = [
  'Conv2DBackpropFilter',
  'DepthwiseConv2dNativeBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput',
  'UnsortedSegmentSum',
];

beforeAll(async () => {
  await useBackend();
});

describe('registerWasmGradientKernels', () => {
  it('has registered the four gradient kernels for wasm through initBackend', () => {
    expect(NAMES.filter((name) => tf.getKernel(name, 'wasm') === undefined)).toEqual([]);
  });

  it('registers nothing the second time', () => {
    expect(registerWasmGradientKernels()).toEqual([]);
  });

  it('leaves a kernel that is already registered (e.g. by a newer tfjs) in place', () => {
    const ours = tf.getKernel('UnsortedSegmentSum', 'wasm');
    const theirs: tf.KernelConfig = {
      kernelName: 'UnsortedSegmentSum',
      backendName: 'wasm',
      kernelFunc: ours.kernelFunc,
    };
    tf.unregisterKernel('UnsortedSegmentSum', 'wasm');
    try {
      tf.registerKernel(theirs);
      expect(registerWasmGradientKernels()).toEqual([]);
      expect(tf.getKernel('UnsortedSegmentSum', 'wasm')).toBe(theirs);
      tf.unregisterKernel('UnsortedSegmentSum', 'wasm');
      expect(registerWasmGradientKernels()).toEqual(['UnsortedSegmentSum']);
      expect(tf.getKernel('UnsortedSegmentSum', 'wasm').kernelFunc).toBe(ours.kernelFunc);
    } finally {
      if (tf.getKernel('UnsortedSegmentSum', 'wasm') === undefined) tf.registerKernel(ours);
    }
  });
});
