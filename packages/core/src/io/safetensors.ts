import type * as tf from '@tensorflow/tfjs-core';

/**
 * Element types of the safetensors format that residual reads and writes. Other dtypes of the
 * format (U16, U32, U64, F8_*) are refused by {@link readSafetensors} with a ValueError.
 */
export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/**
 * Result of {@link readSafetensors}: `tensors` (new tensors, the caller owns and disposes them),
 * the dtype each tensor had in the file, and the file's `__metadata__` string map ({} if none).
 */
export interface SafetensorsContents {
  tensors: Map<string, tf.Tensor>;
  dtypes: Map<string, SafetensorsDtype>;
  metadata: Record<string, string>;
}

/** Options of {@link writeSafetensors}: per-key file dtypes (default from the tensor dtype) and metadata. */
export interface WriteSafetensorsOptions {
  dtypes?: Record<string, SafetensorsDtype>;
  metadata?: Record<string, string>;
}

/** Bytes per element of each dtype. */
export const DTYPE_SIZES: Readonly<Record<SafetensorsDtype, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/**
 * Write order rank: the reference library (safetensors `prepare`) lays tensors out by its Dtype enum
 * order descending, then by name, so every tensor starts at a multiple of its element size.
 */
export const DTYPE_WRITE_RANK: Readonly<Record<SafetensorsDtype, number>> = {
  I64: 0,
  F64: 1,
  F32: 2,
  I32: 3,
  BF16: 4,
  F16: 5,
  I16: 6,
  I8: 7,
  U8: 8,
  BOOL: 9,
};

/** True if `s` names a dtype residual supports. */
export function isSafetensorsDtype(s: unknown): s is SafetensorsDtype {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_SIZES, s);
}

/** The reference library refuses headers larger than this (MAX_HEADER_SIZE, 100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

/** True on little-endian hosts (every Node/browser target in practice); typed-array views need it. */
export const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
