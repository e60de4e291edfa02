import * as tf from '@tensorflow/tfjs-core';
import { ValueError } from '../errors.js';

/** A tensor as plain data that crosses a worker boundary (structured clone, transferable `data`). */
export interface PlainTensor {
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool';
  /** Row-major values: Float32Array for float32, Int32Array for int32, Uint8Array (0/1) for bool. */
  data: Float32Array | Int32Array | Uint8Array;
}

/** Reads `t` (borrowed, not disposed) back to the CPU as a {@link PlainTensor} with its own buffer. */
export async function toPlainTensor(t: tf.Tensor): Promise<PlainTensor> {
  if (t.dtype !== 'float32' && t.dtype !== 'int32' && t.dtype !== 'bool') {
    throw new ValueError(`toPlainTensor: dtype must be float32, int32 or bool, got ${t.dtype}`);
  }
  const values = (await t.data()) as Float32Array | Int32Array | Uint8Array;
  // A fresh copy owns its whole buffer, so it can be transferred without emptying a backend's memory.
  return { shape: [...t.shape], dtype: t.dtype, data: values.slice() };
}

/** A new tensor (caller owns) with the shape, dtype and values of `plain`. */
export function fromPlainTensor(plain: PlainTensor): tf.Tensor {
  const size = plain.shape.reduce((a, b) => a * b, 1);
  if (plain.data.length !== size) {
    throw new ValueError(`fromPlainTensor: shape [${plain.shape.join(',')}] holds ${size} values, got ${plain.data.length}`);
  }
  return tf.tensor(plain.data, plain.shape, plain.dtype);
}
