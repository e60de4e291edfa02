import * as tf from '@tensorflow/tfjs-core';
import { flushDenormalInputs } from './flush-denormal-inputs.js';
import { kernelInput } from './kernel-input.js';

const NAME = tf.BatchMatMul;

/**
 * The wasm backend multiplies a transposed operand in a slow loop (measured 256×12544×1024: 1.2 s
 * plain, 7.1 s with b transposed, 9.9 s with a transposed), and every matMul gradient transposes one
 * side. This wrapper transposes explicitly (a fast copy) and runs the plain product. Idempotent.
 */
export function overrideWasmBatchMatMul(): boolean {
  const native = tf.getKernel(NAME, 'wasm');
  if (native === undefined || native.kernelFunc === replacement) return false;
  const plain = native.kernelFunc;
  replacement = (args) => {
    const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
    if (!transposeA && !transposeB) return plain(args);
    // A transposed operand means a gradient: flush its subnormals (see flushDenormalInputs).
    flushDenormalInputs(args.backend, args.inputs, ['a', 'b']);
    return tf.tidy(() => {
      const a = kernelInput(args.inputs, 'a', NAME);
      const b = kernelInput(args.inputs, 'b', NAME);
      return tf.matMul(transposeA ? swapLastTwo(a) : a, transposeB ? swapLastTwo(b) : b);
    });
  };
  tf.unregisterKernel(NAME, 'wasm');
  tf.registerKernel({ kernelName: NAME, backendName: 'wasm', kernelFunc: replacement });
  return true;
}

let replacement: tf.KernelFunc | undefined;

function swapLastTwo(t: tf.Tensor): tf.Tensor {
  const perm = t.shape.map((_, i) => i);
  [perm[t.rank - 2], perm[t.rank - 1]] = [perm[t.rank - 1], perm[t.rank - 2]];
  return tf.transpose(t, perm);
}
