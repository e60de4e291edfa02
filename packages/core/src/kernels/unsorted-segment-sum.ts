import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, ValueError, formatShape } from '../errors.js';
import { kernelInput } from './kernel-input.js';

const NAME = tf.UnsortedSegmentSum;

/**
 * UnsortedSegmentSum built from kernels the wasm backend has (tf.gather's gradient uses it):
 * out[k, ...] = Σ_{i : segmentIds[i] = k} x[i, ...]. Inputs x [S..., D...] (float32 or int32) and
 * segmentIds [S...] (int32, the leading dims of x); returns [numSegments, D...] with x's dtype,
 * owned by the caller. Ids outside [0, numSegments) are dropped, as in TensorFlow.
 *
 * Method: one ScatterNd, whose wasm kernel sums duplicate indices in a single pass (O(rows·D),
 * whatever numSegments is). Its wasm kernel does not bounds-check indices, so invalid ids are
 * first redirected to a spare row numSegments that is sliced off.
 */
export function unsortedSegmentSum(args: { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap }): tf.Tensor {
  const { numSegments } = args.attrs as unknown as tf.UnsortedSegmentSumAttrs;
  if (!Number.isInteger(numSegments) || numSegments < 0) {
    throw new ValueError(`${NAME}: numSegments must be a non-negative integer, got ${numSegments}`);
  }
  return tf.tidy(() => {
    const x = kernelInput(args.inputs, 'x', NAME);
    const segmentIds = kernelInput(args.inputs, 'segmentIds', NAME);
    const lead = segmentIds.shape;
    if (lead.length > x.rank || lead.some((d, i) => d !== x.shape[i])) {
      throw new ShapeError(
        `${NAME}: segmentIds must be a prefix of x's shape ${formatShape(x.shape)}, got ${formatShape(lead)}`
      );
    }
    const inner = x.shape.slice(lead.length);
    const rows = segmentIds.size;
    const width = inner.reduce((a, b) => a * b, 1);
    const ids = tf.reshape(tf.cast(segmentIds, 'int32'), [rows]);
    const valid = tf.logicalAnd(
      tf.greaterEqual(ids, tf.scalar(0, 'int32')),
      tf.less(ids, tf.scalar(numSegments, 'int32'))
    );
    const safe = tf.where(valid, ids, tf.fill([rows], numSegments, 'int32')); // invalid → spare row
    const summed = tf.scatterND(tf.reshape(safe, [rows, 1]), tf.reshape(x, [rows, width]), [numSegments + 1, width]);
    return tf.reshape(tf.slice(summed, [0, 0], [numSegments, width]), [numSegments, ...inner]);
  });
}

/** Registration record of {@link unsortedSegmentSum} for the wasm backend. */
export const unsortedSegmentSumConfig: tf.KernelConfig = {
  kernelName: NAME,
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum as unknown as tf.KernelFunc,
};
