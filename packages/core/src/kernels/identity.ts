import * as tf from '@tensorflow/tfjs-core';

const NAME = tf.Identity;

interface RefCountingBackend {
  incRef(dataId: tf.DataId): void;
}

/**
 * Replaces the wasm backend's Identity, which copies its input, by one that shares the input's
 * data (reference counted, as the cpu backend does). tfjs clones every tensor a gradient saves for
 * the backward pass through Identity, so on wasm each saved activation and weight was held twice:
 * MAE-base's forward+backward at batch 2 peaked at 3.8 GB of a 4 GiB heap. Tensors are immutable,
 * so sharing is safe. Strings keep the native kernel. Idempotent; returns whether it replaced it.
 */
export function overrideWasmIdentity(): boolean {
  const native = tf.getKernel(NAME, 'wasm');
  if (native === undefined || native.kernelFunc === replacement) return false;
  const copy = native.kernelFunc;
  replacement = (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (x.dtype === 'string') return copy(args);
    (args.backend as unknown as RefCountingBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
  tf.unregisterKernel(NAME, 'wasm');
  tf.registerKernel({ kernelName: NAME, backendName: 'wasm', kernelFunc: replacement });
  return true;
}

let replacement: tf.KernelFunc | undefined;
