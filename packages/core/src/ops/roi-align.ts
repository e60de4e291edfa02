import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, ValueError, assertShape } from '../errors.js';
import { buildPlan, roiGeometry, type RoiAlignConfig, type RoiAlignPlan, type RoiGeometry } from './roi-align-plan.js';

// torchvision.ops.roi_align (CPU kernel roi_align_kernel.cpp; parity-spec §7.2) for NHWC inputs.
//
// Implementation: the RoIs are data (never differentiated), so the host computes from their values a
// sparse plan "bin b reads pixel p with weight w" (roi-align-plan.ts). The forward pass gathers the
// planned rows of the input flattened to [N·H·W, C], weights them and segment-sums them per bin; the
// backward pass (tf.customGrad) is the transpose: entries sorted by pixel, dy rows gathered, weighted
// and segment-summed per pixel, which yields dx row block by row block (no scatter needed). Both passes
// run in chunks of at most CHUNK_FLOATS gathered values, and nothing of size (entries × C) is kept for
// the gradient, so memory stays bounded (K=512 RoIs × 7×7 × 2×2 samples × 256 channels would otherwise
// hold ~400 MB). Kernels used: SparseSegmentSum (also as the row gather: on wasm GatherV2 is ~10×
// slower), Multiply, Range, Concat, Fill — all present on wasm and cpu; no UnsortedSegmentSum.
// Measured on wasm (2 shared cores), 512 RoIs × 7×7 × 256 ch, sampling 2, 2×200×304 map: forward
// ~0.8 s, forward + input gradient ~1.9 s; the plan itself takes ~20 ms.

/** Upper bound on the values gathered at once (entries × channels); 2^22 floats = 16 MiB. */
const CHUNK_FLOATS = 1 << 22;

/**
 * RoIs of {@link roiAlign}: a [K,5] tensor of (batchIndex, x1, y1, x2, y2) rows, or one [Ki,4] tensor
 * of (x1, y1, x2, y2) per image (output rows then follow image order). Coordinates are in input-image
 * pixels; `spatialScale` maps them onto the feature map.
 */
export type RoiAlignRois = tf.Tensor2D | readonly tf.Tensor2D[];

/**
 * RoIAlign with torchvision's exact kernel semantics on an NHWC feature map `input` [N,H,W,C]:
 * per bin a `samplingRatio`² grid of bilinear samples (adaptive `ceil(roiSize/outputSize)` when
 * `samplingRatio ≤ 0`), averaged. Samples with y < −1, y > H, x < −1 or x > W read 0; coordinates in
 * (−1, 0] snap to 0 and the last row/column is repeated at the far edge. `aligned` shifts boxes by
 * −0.5 pixel (half-pixel centres); without it (the Faster/Mask R-CNN default) RoIs are at least 1×1.
 * Returns float32 [K, outH, outW, C], caller owns. Differentiable with respect to `input` (not the
 * RoIs). Sync: reads the RoIs back to the CPU once.
 */
export function roiAlign(
  input: tf.Tensor4D,
  rois: RoiAlignRois,
  outputSize: number | readonly [number, number],
  spatialScale = 1,
  samplingRatio = -1,
  aligned = false,
): tf.Tensor4D {
  assertShape(input, [-1, -1, -1, -1], 'input', 'roiAlign');
  const [n, height, width, channels] = input.shape;
  const [pooledH, pooledW] = typeof outputSize === 'number' ? [outputSize, outputSize] : outputSize;
  if (![pooledH, pooledW].every((s) => Number.isInteger(s) && s > 0)) {
    throw new ValueError(`roiAlign: outputSize must be a positive integer or [h, w] of them, got ${JSON.stringify(outputSize)}`);
  }
  if (!(spatialScale > 0)) throw new ValueError(`roiAlign: spatialScale must be > 0, got ${spatialScale}`);
  if (!Number.isInteger(samplingRatio)) {
    throw new ValueError(`roiAlign: samplingRatio must be an integer (≤ 0 = adaptive), got ${samplingRatio}`);
  }
  const cfg: RoiAlignConfig = { height, width, pooledH, pooledW, spatialScale, samplingRatio, aligned };
  const geometry = readRois(rois, n, cfg);
  const k = geometry.length;
  if (k === 0 || channels === 0 || height === 0 || width === 0) {
    return tf.zeros([k, pooledH, pooledW, channels]);
  }
  const plan = buildPlan(geometry, cfg);
  const numBins = k * pooledH * pooledW;
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const x = args[0] as tf.Tensor4D;
    const flat = tf.reshape(x, [n * height * width, channels]) as tf.Tensor2D; // [N·H·W, C]
    const value = tf.reshape(forward(flat, plan, numBins, channels), [k, pooledH, pooledW, channels]); // [K,oh,ow,C]
    const gradFunc = (dy: tf.Tensor): tf.Tensor =>
      tf.tidy(() => tf.reshape(backward(tf.reshape(dy, [numBins, channels]), plan, n * height * width, channels), x.shape));
    return { value, gradFunc };
  });
  return op(input) as tf.Tensor4D;
}

function readRois(rois: RoiAlignRois, n: number, cfg: RoiAlignConfig): RoiGeometry[] {
  const out: RoiGeometry[] = [];
  if (rois instanceof tf.Tensor) {
    assertShape(rois, [-1, 5], 'rois', 'roiAlign');
    const data = rois.dataSync();
    for (let i = 0; i < rois.shape[0]; i++) {
      const row = data.subarray(5 * i, 5 * i + 5);
      const b = Math.trunc(row[0]); // the kernel casts the float batch index to int
      if (!(b >= 0 && b < n)) {
        throw new ValueError(`roiAlign: rois[${i}] has batch index ${row[0]}, expected an integer in [0, ${n - 1}]`);
      }
      out.push(roiGeometry(b, row.subarray(1), cfg));
    }
    return out;
  }
  if (rois.length !== n) {
    throw new ShapeError(`roiAlign: rois must hold one [K,4] tensor per image (${n}), got ${rois.length}`);
  }
  rois.forEach((boxes, b) => {
    assertShape(boxes, [-1, 4], `rois[${b}]`, 'roiAlign');
    const data = boxes.dataSync();
    for (let i = 0; i < boxes.shape[0]; i++) out.push(roiGeometry(b, data.subarray(4 * i, 4 * i + 4), cfg));
  });
  return out;
}

/** Ranges [start, end) of entries with at most `maxEntries` each, never splitting equal `keys`. */
function chunks(keys: Int32Array, maxEntries: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let start = 0;
  while (start < keys.length) {
    let end = Math.min(keys.length, start + maxEntries);
    if (end < keys.length) {
      const boundary = end;
      while (end > start && keys[end] === keys[end - 1]) end--;
      if (end === start) {
        end = boundary; // one key owns more than a chunk: extend to its last entry
        while (end < keys.length && keys[end] === keys[end - 1]) end++;
      }
    }
    out.push([start, end]);
    start = end;
  }
  return out;
}

/**
 * Σ_e weight[e]·table[index[e]] per segment: `segment` is ascending and starts at 0; the result has
 * `segment[last] + 1` rows (segments without entries are zero rows). The row gather is a
 * SparseSegmentSum with one row per segment: on wasm it is ~10× faster than GatherV2.
 */
function weightedSegmentSum(table: tf.Tensor2D, index: Int32Array, weight: Float32Array, segment: Int32Array): tf.Tensor2D {
  return tf.tidy(() => {
    const p = index.length;
    const all = tf.range(0, p, 1, 'int32');
    const rows = tf.sparse.sparseSegmentSum(table, tf.tensor1d(index, 'int32'), all); // [P, C]
    const weighted = tf.mul(rows, tf.tensor2d(weight, [p, 1]));
    return tf.sparse.sparseSegmentSum(weighted, all, tf.tensor1d(segment, 'int32')) as tf.Tensor2D;
  });
}

/** Concatenates row blocks (disposing them) and pads with zero rows up to `rows`. */
function stackRows(pieces: tf.Tensor2D[], rows: number, channels: number): tf.Tensor2D {
  const have = pieces.reduce((n, t) => n + t.shape[0], 0);
  if (have < rows) pieces.push(tf.zeros([rows - have, channels]));
  if (pieces.length === 1) return pieces[0];
  const out = tf.concat(pieces, 0);
  pieces.forEach((t) => t.dispose());
  return out;
}

/** Σ_e weight[e]·flat[pixel[e]] per bin → [numBins, C]. */
function forward(flat: tf.Tensor2D, plan: RoiAlignPlan, numBins: number, channels: number): tf.Tensor2D {
  const maxEntries = Math.max(1, Math.floor(CHUNK_FLOATS / channels));
  // Every bin owns ≥ 1 entry, so chunk c covers bins [bin[s], bin[e−1]] with no gaps.
  const pieces = chunks(plan.bin, maxEntries).map(([s, e]) => {
    const first = plan.bin[s];
    const segment = plan.bin.slice(s, e).map((b) => b - first);
    return weightedSegmentSum(flat, plan.pixel.subarray(s, e), plan.weight.subarray(s, e), segment);
  });
  return stackRows(pieces, numBins, channels);
}

/** Transpose of {@link forward}: Σ_e weight[e]·dy[bin[e]] per pixel → [numPixels, C]. */
function backward(dy: tf.Tensor2D, plan: RoiAlignPlan, numPixels: number, channels: number): tf.Tensor2D {
  // Counting sort of the entries by pixel, so each pixel's entries are contiguous.
  const starts = new Int32Array(numPixels + 1);
  for (let e = 0; e < plan.length; e++) starts[plan.pixel[e] + 1]++;
  for (let p = 0; p < numPixels; p++) starts[p + 1] += starts[p];
  const order = new Int32Array(plan.length);
  const fill = starts.slice(0, numPixels);
  for (let e = 0; e < plan.length; e++) order[fill[plan.pixel[e]]++] = e;
  const pixel = order.map((e) => plan.pixel[e]);
  const bin = order.map((e) => plan.bin[e]);
  const weight = Float32Array.from(order, (e) => plan.weight[e]);
  const maxEntries = Math.max(1, Math.floor(CHUNK_FLOATS / channels));
  // Chunks never split a pixel. Chunk c's segment ids count from the row after the previous chunk's
  // last pixel, so untouched pixels in between become zero rows and the pieces stack into dx.
  let next = 0;
  const pieces = chunks(pixel, maxEntries).map(([s, e]) => {
    const from = next;
    next = pixel[e - 1] + 1;
    const segment = pixel.slice(s, e).map((p) => p - from);
    return weightedSegmentSum(dy, bin.subarray(s, e), weight.subarray(s, e), segment);
  });
  return stackRows(pieces, numPixels, channels);
}
