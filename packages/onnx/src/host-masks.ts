import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, ValueError } from '@residual/core';
import { bilinearAxisPlan } from '@residual/faster-rcnn';
import { maskPlacement } from '@residual/mask-rcnn';
import type { HostTensor } from './onnx-session.js';

// Mask inference and pasting of the onnxruntime engine on host arrays: mask-rcnn's maskrcnnInference
// and pasteMasksInImage (torchvision's maskrcnn_inference, expand_masks, expand_boxes,
// paste_mask_in_image) as plain loops, so that each of up to 100 masks costs no tfjs kernels. The
// float32 steps are the same as mask-rcnn's; the parity tests compare the two paths.

const { exp, fround } = Math; // bound once: global lookups are slow inside jest's vm

/**
 * σ of each detection's labelled class: `logits` [K,M,M,C] (NHWC, class last), `labels` [K].
 * Returns float32 [K,M,M].
 */
export function hostMaskProbs(logits: HostTensor, labels: ArrayLike<number>): Float32Array {
  const [k, mh, mw, c] = logits.shape;
  if (logits.shape.length !== 4 || k !== labels.length) {
    throw new ShapeError(`hostMaskProbs: logits must be [${labels.length},M,M,C] (one per label), got [${logits.shape.join(',')}]`);
  }
  const out = new Float32Array(k * mh * mw);
  const x = logits.data;
  for (let i = 0; i < k; i++) {
    const label = labels[i];
    if (!(label >= 0 && label < c)) throw new ValueError(`hostMaskProbs: label ${label} of detection ${i} is outside [0, ${c})`);
    for (let p = 0; p < mh * mw; p++) out[i * mh * mw + p] = 1 / (1 + exp(-x[(i * mh * mw + p) * c + label]));
  }
  return out;
}

/**
 * Pastes each mask as pasteMasksInImage does and hands every pasted row segment to `sink(offset,
 * row)`: `offset` is the flat index in [K,H,W] of its first value, `row` is only valid during the call.
 * Each mask is padded, resized bilinearly to its expanded integer box (width first, then height, in
 * float32 as mask-rcnn's resizeBilinear) and cut where the box meets the image.
 */
function pasteRows(probs: Float32Array, m: number, boxes: ArrayLike<number>, [height, width]: readonly [number, number], padding: number, sink: (offset: number, row: Float32Array) => void): void {
  const k = boxes.length / 4;
  if (probs.length !== k * m * m) throw new ShapeError(`hostPasteMasksSparse: probs must hold ${k} masks of ${m}×${m}, got ${probs.length} values`);
  const p = m + 2 * padding;
  const scale = fround(p / m);
  const padded = new Float32Array(p * p);
  const row = new Float32Array(width);
  for (let i = 0; i < k; i++) {
    const { bx, by, w, h, x0, xe, y0, ye } = maskPlacement(boxes, i, scale, height, width);
    if (xe <= x0 || ye <= y0) continue;
    padded.fill(0);
    for (let r = 0; r < m; r++) padded.set(probs.subarray((i * m + r) * m, (i * m + r + 1) * m), (r + padding) * p + padding);
    // Only the destination rows/columns inside the image are computed: each depends on its own plan entry.
    const cols = bilinearAxisPlan(p, w, x0 - bx, xe - bx);
    const rows = bilinearAxisPlan(p, h, y0 - by, ye - by);
    const nx = xe - x0;
    // Width first: every padded row at the kept columns.
    const across = new Float32Array(p * nx);
    for (let r = 0; r < p; r++) {
      for (let j = 0; j < nx; j++) {
        across[r * nx + j] = fround(padded[r * p + cols.i0[j]] * cols.w0[j]) + fround(padded[r * p + cols.i1[j]] * cols.w1[j]);
      }
    }
    const segment = row.subarray(0, nx);
    for (let y = 0; y < ye - y0; y++) {
      const a = rows.i0[y] * nx;
      const b = rows.i1[y] * nx;
      const [w0, w1] = [rows.w0[y], rows.w1[y]];
      for (let j = 0; j < nx; j++) segment[j] = fround(across[a + j] * w0) + fround(across[b + j] * w1);
      sink((i * height + y0 + y) * width + x0, segment);
    }
  }
}

/**
 * pasteMasksInImage on host arrays, as the non-zero part of its [K,H,W] result: `probs` [K,M,M]
 * (square masks), `boxes` [K,4] x1,y1,x2,y2 in the image's pixels, the image `[H, W]`, `padding` zero
 * rows/columns around each mask (default 1). Returns the flat [K,H,W] index of every pasted value
 * (ascending) and the values; everything else is zero.
 */
export function hostPasteMasksSparse(
  probs: Float32Array,
  m: number,
  boxes: ArrayLike<number>,
  size: readonly [number, number],
  padding = 1,
): { indices: Int32Array; values: Float32Array } {
  const k = boxes.length / 4;
  if (k * size[0] * size[1] > 2 ** 31 - 1) {
    throw new ValueError(`hostPasteMasksSparse: ${k} masks of ${size[0]}×${size[1]} exceed 2^31 − 1 values; paste them as RLE (maskFormat: 'rle')`);
  }
  const scale = fround((m + 2 * padding) / m);
  let count = 0;
  for (let i = 0; i < k; i++) {
    const { x0, xe, y0, ye } = maskPlacement(boxes, i, scale, size[0], size[1]);
    if (xe > x0 && ye > y0) count += (xe - x0) * (ye - y0);
  }
  const indices = new Int32Array(count);
  const values = new Float32Array(count);
  let at = 0;
  pasteRows(probs, m, boxes, size, padding, (offset, row) => {
    for (let j = 0; j < row.length; j++) indices[at + j] = offset + j;
    values.set(row, at);
    at += row.length;
  });
  return { indices, values };
}

/**
 * {@link hostPasteMasksSparse} as a float32 [K,H,W] tensor (caller owns it). Mostly zeros, since each
 * mask only fills its box: when the pasted values are at most a quarter of K·H·W, tf.scatterND builds
 * the tensor inside the backend (zeros, then the values), which on tfjs-wasm costs about half of
 * copying a K·H·W host array into it (256 MB for 100 masks at 800×800); otherwise that copy.
 */
export function hostPasteMasksTensor(probs: Float32Array, m: number, boxes: ArrayLike<number>, [h, w]: readonly [number, number], padding = 1): tf.Tensor3D {
  const k = boxes.length / 4;
  const { indices, values } = hostPasteMasksSparse(probs, m, boxes, [h, w], padding);
  if (values.length === 0) return tf.zeros([k, h, w]);
  if (4 * values.length <= k * h * w) {
    return tf.tidy(() => tf.reshape(tf.scatterND(tf.tensor2d(indices, [values.length, 1], 'int32'), tf.tensor1d(values), [k * h * w]), [k, h, w]));
  }
  const dense = new Float32Array(k * h * w);
  for (let j = 0; j < values.length; j++) dense[indices[j]] = values[j];
  return tf.tensor3d(dense, [k, h, w]);
}
