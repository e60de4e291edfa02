import * as tf from '@tensorflow/tfjs-core';
import { kernelInput } from './kernel-input.js';

// What a reduction over zero elements gives: torch's values for Sum, Prod and Mean (0, 1, NaN);
// NaN for Max/Min, where torch raises and tfjs's cpu backend gives NaN.
const EMPTY_VALUE: Record<string, number> = {
  [tf.Sum]: 0,
  [tf.Prod]: 1,
  [tf.Mean]: NaN,
  [tf.Max]: NaN,
  [tf.Min]: NaN,
};

/**
 * Wraps the wasm backend's reductions so that reducing over an axis of size 0 gives a defined
 * value: tfjs-backend-wasm 4.22 returns uninitialised memory there (e.g. 3.6e-41 for the sum of
 * an empty tensor), which turned "no positive anchors" losses into garbage. Non-empty inputs go to
 * the native kernel unchanged. Idempotent. Returns the kernel names it wrapped.
 */
export function guardWasmEmptyReductions(): string[] {
  const wrapped: string[] = [];
  for (const [name, value] of Object.entries(EMPTY_VALUE)) {
    const native = tf.getKernel(name, 'wasm');
    if (native === undefined || guarded.has(native.kernelFunc)) continue;
    const kernelFunc: tf.KernelFunc = (args) => {
      const x = args.inputs.x as tf.TensorInfo;
      if (x.shape.some((d) => d === 0)) return emptyReduction(args, value, name);
      return native.kernelFunc(args);
    };
    guarded.add(kernelFunc);
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ ...native, kernelFunc });
    wrapped.push(name);
  }
  return wrapped;
}

const guarded = new Set<tf.KernelFunc>();

function emptyReduction(args: Parameters<tf.KernelFunc>[0], value: number, name: string): tf.Tensor {
  const x = kernelInput(args.inputs, 'x', name);
  const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
  const axes = tf.util.parseAxisParam(axis, x.shape);
  const shape = x.shape.flatMap((d, i) => (axes.includes(i) ? (keepDims ? [1] : []) : [d]));
  return tf.fill(shape, value, x.dtype === 'int32' && !Number.isNaN(value) ? 'int32' : 'float32');
}
