import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, ValueError, assertDtype, formatShape } from '../errors.js';
import { encodeMask, rleDecode, type Rle, type UncompressedRle } from './rle.js';

/**
 * COCO RLE (uncompressed counts, column-major runs) of a binary mask: a Tensor2D [H, W] of any
 * numeric dtype, or a row-major array of h·w numbers with its `shape` [h, w]. Nonzero counts as
 * foreground. Reads the tensor back synchronously; does not dispose it.
 */
export function maskToRle(mask: tf.Tensor2D): UncompressedRle;
/** COCO RLE of a row-major mask array (e.g. Uint8Array) of h·w values; nonzero counts as foreground. */
export function maskToRle(mask: ArrayLike<number>, shape: readonly [number, number]): UncompressedRle;
export function maskToRle(mask: tf.Tensor | ArrayLike<number>, shape?: readonly [number, number]): UncompressedRle {
  if (mask instanceof tf.Tensor) {
    if (mask.rank !== 2) throw new ShapeError(`maskToRle: mask must be [H,W], got ${formatShape(mask.shape)}`);
    assertDtype(mask, ['bool', 'int32', 'float32'], 'mask', 'maskToRle');
    return encodeMask(mask.dataSync() as ArrayLike<number>, mask.shape as [number, number], 'maskToRle');
  }
  if (shape === undefined) throw new ValueError('maskToRle: shape [h, w] is required with an array mask');
  return encodeMask(mask, shape, 'maskToRle');
}

/** dtypes `rleToMask` can produce. */
export type MaskDType = 'int32' | 'bool' | 'float32';

/** Decodes an RLE to a Tensor2D [H, W] of 0/1 (default int32); the caller owns it. */
export function rleToMask(rle: Rle, dtype: MaskDType = 'int32'): tf.Tensor2D {
  const data = rleDecode(rle);
  const [h, w] = rle.size;
  if (dtype === 'bool') return tf.tensor2d(data, [h, w], 'bool');
  if (dtype === 'int32') return tf.tensor2d(Int32Array.from(data), [h, w], 'int32');
  if (dtype === 'float32') return tf.tensor2d(Float32Array.from(data), [h, w], 'float32');
  throw new ValueError(`rleToMask: dtype must be 'int32', 'bool' or 'float32', got ${String(dtype)}`);
}
