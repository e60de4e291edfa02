import type * as tf from '@tensorflow/tfjs-core';

/** A backend whose tensors live in one WebAssembly heap (tfjs-backend-wasm). */
interface HeapBackend {
  typedArrayFromHeap(info: tf.TensorInfo): ArrayLike<number> & ArrayBufferView;
}

function isHeapBackend(backend: unknown): backend is HeapBackend {
  return typeof (backend as Partial<HeapBackend>).typedArrayFromHeap === 'function';
}

// Data already scanned: tensors never change after they are written (a Variable's assign swaps its
// dataId), so weights are scanned once, not at every step.
const scanned = new WeakSet<object>();

/**
 * Flush-to-zero for kernel inputs, in place: every subnormal float32 (|v| < 2^−126) of the named
 * inputs becomes a zero of the same sign. WebAssembly cannot set the CPU's flush mode, and x86 takes
 * a microcode assist per subnormal operand: on tfjs-wasm a 256×12544×1024 matMul runs 0.4 s on
 * normal numbers and 36 s when its gradient input holds subnormals. They arise in backward passes
 * (e.g. σ(z)/N of a saturated mask logit, shrinking through the layers behind it), so the gradient
 * kernels call this on their inputs. Changing a value by less than 2^−126 is what GPUs, TensorFlow's
 * CPU kernels and `torch.set_flush_denormal(True)` do. No-op on backends without a wasm heap.
 */
export function flushDenormalInputs(backend: unknown, inputs: tf.NamedTensorInfoMap, names: readonly string[]): void {
  if (!isHeapBackend(backend)) return;
  for (const name of names) {
    const info = inputs[name];
    if (info === undefined || info.dtype !== 'float32' || scanned.has(info.dataId)) continue;
    const view = backend.typedArrayFromHeap(info);
    const bits = new Int32Array(view.buffer, view.byteOffset, view.byteLength >> 2);
    for (let i = 0; i < bits.length; i++) {
      const b = bits[i];
      // Exponent bits all zero and a non-zero mantissa: subnormal.
      if ((b & 0x7f800000) === 0 && (b & 0x7fffffff) !== 0) bits[i] = b & 0x80000000;
    }
    scanned.add(info.dataId);
  }
}

/** `kernelFunc` with {@link flushDenormalInputs} applied to the inputs `names` first. */
export function withFlushedInputs(kernelFunc: tf.KernelFunc, names: readonly string[]): tf.KernelFunc {
  return (args) => {
    flushDenormalInputs(args.backend, args.inputs, names);
    return kernelFunc(args);
  };
}
