import { ShapeError, ValueError, roiAxisWeights, roiGeometry, type RoiAlignConfig } from '@residual/core';
import { mapLevels, type MultiScaleRoIAlign } from '@residual/faster-rcnn';
import type { HostTensor } from './onnx-session.js';

// RoIAlign of the onnxruntime engine on host arrays: the feature maps come out of onnxruntime as
// Float32Arrays and the pooled features go back into it, so sampling them with plain loops avoids two
// copies through tfjs and many small wasm kernels. The arithmetic is core's roiAlign (torchvision's
// roi_align_kernel.cpp): the same float32 geometry, the same separable bilinear weights per bin.

// Bound once: global Math lookups are slow inside jest's vm, and these loops run per bin.
const { max, min, trunc } = Math;
const f32 = Math.fround;

/** RoIAlign settings shared by all RoIs of one call. */
export interface HostRoiAlignOptions {
  outputSize: readonly [number, number];
  spatialScale: number;
  /** Samples per bin and axis; ≤ 0 is adaptive (ceil(roiSize / outputSize)). */
  samplingRatio: number;
  aligned: boolean;
}

/**
 * For bin row `p` along one axis: the pixels the `grid` samples read and their summed bilinear
 * weights (written to idx/w, count returned; core's `roiAxisWeights` accumulates them in `acc`,
 * which is zeroed again here).
 */
function axisWeights(start: number, bin: number, grid: number, p: number, size: number, acc: Float64Array, idx: Int32Array, w: Float64Array): number {
  const [lo, hi] = roiAxisWeights(start, bin, grid, p, size, acc);
  let n = 0;
  for (let j = lo; j <= hi; j++) {
    if (acc[j] !== 0) {
      idx[n] = j;
      w[n] = acc[j];
      n++;
    }
    acc[j] = 0;
  }
  return n;
}

/**
 * RoIAlign (torchvision semantics, as core's `roiAlign`) of the NHWC map `input` [N,H,W,C] for the
 * boxes `boxes` (x1,y1,x2,y2 rows) of images `batchIndex`, writing [K,outH,outW,C] into `out` from
 * row `outRow` of its K axis, or into row `rowOf[k]` when given. Pure host arithmetic, sync.
 */
export function hostRoiAlign(
  input: HostTensor,
  boxes: ArrayLike<number>,
  batchIndex: ArrayLike<number>,
  options: HostRoiAlignOptions,
  out: Float32Array,
  rowOf?: ArrayLike<number>,
): void {
  if (input.shape.length !== 4) throw new ShapeError(`hostRoiAlign: input must be [N,H,W,C], got [${input.shape.join(',')}]`);
  const [n, height, width, channels] = input.shape;
  const [pooledH, pooledW] = options.outputSize;
  const k = batchIndex.length;
  if (boxes.length !== 4 * k) throw new ShapeError(`hostRoiAlign: boxes must hold 4 values per RoI (${k}), got ${boxes.length}`);
  if (out.length < (rowOf ? 0 : k) * pooledH * pooledW * channels) throw new ShapeError(`hostRoiAlign: out is too short for ${k} RoIs`);
  const data = input.data;
  const cfg: RoiAlignConfig = { height, width, pooledH, pooledW, spatialScale: options.spatialScale, samplingRatio: options.samplingRatio, aligned: options.aligned };
  const rowAcc = new Float64Array(height + 1);
  const colAcc = new Float64Array(width + 1);
  const grid = (s: number): number => max(s, 1) * 2 + 2; // most pixels one axis of a bin can touch
  const maxGridH = options.samplingRatio > 0 ? options.samplingRatio : height + 1;
  const maxGridW = options.samplingRatio > 0 ? options.samplingRatio : width + 1;
  const rowIdx = new Int32Array(pooledH * min(grid(maxGridH), height + 1));
  const rowW = new Float64Array(rowIdx.length);
  const colIdx = new Int32Array(pooledW * min(grid(maxGridW), width + 1));
  const colW = new Float64Array(colIdx.length);
  const rowStart = new Int32Array(pooledH + 1);
  const colStart = new Int32Array(pooledW + 1);
  const binSize = pooledH * pooledW * channels;
  const src = new Int32Array(9); // one bin's pixels (offsets into data) and weights
  const weight = new Float64Array(9);
  for (let r = 0; r < k; r++) {
    const b = trunc(batchIndex[r]);
    if (!(b >= 0 && b < n)) throw new ValueError(`hostRoiAlign: RoI ${r} has batch index ${batchIndex[r]}, expected an integer in [0, ${n - 1}]`);
    const { startY, startX, binH, binW, gridH, gridW } = roiGeometry(b, [boxes[4 * r], boxes[4 * r + 1], boxes[4 * r + 2], boxes[4 * r + 3]], cfg);
    const base = (rowOf ? rowOf[r] : r) * binSize;
    const empty = !(gridH > 0 && gridW > 0) || height === 0 || width === 0;
    if (empty) {
      out.fill(0, base, base + binSize);
      continue;
    }
    const count = gridH * gridW;
    for (let ph = 0; ph < pooledH; ph++) {
      rowStart[ph + 1] = rowStart[ph] + axisWeights(startY, binH, gridH, ph, height, rowAcc, rowIdx.subarray(rowStart[ph]), rowW.subarray(rowStart[ph]));
    }
    for (let pw = 0; pw < pooledW; pw++) {
      colStart[pw + 1] = colStart[pw] + axisWeights(startX, binW, gridW, pw, width, colAcc, colIdx.subarray(colStart[pw]), colW.subarray(colStart[pw]));
    }
    const imageBase = b * height * width;
    for (let ph = 0; ph < pooledH; ph++) {
      for (let pw = 0; pw < pooledW; pw++) {
        const o = base + (ph * pooledW + pw) * channels;
        const [c0, c1] = [colStart[pw], colStart[pw + 1]];
        if (rowStart[ph] === rowStart[ph + 1] || c0 === c1) {
          out.fill(0, o, o + channels); // no sample of this bin lies on the map
          continue;
        }
        const [r0, r1] = [rowStart[ph], rowStart[ph + 1]];
        const entries = (r1 - r0) * (c1 - c0);
        if (entries === 4 || entries === 6 || entries === 9) {
          // The usual bins (2 or 3 pixels per axis): every pixel in one pass over the channels.
          let e = 0;
          for (let i = r0; i < r1; i++) {
            const rowBase = imageBase + rowIdx[i] * width;
            const wr = rowW[i] / count;
            for (let j = c0; j < c1; j++, e++) {
              src[e] = (rowBase + colIdx[j]) * channels;
              weight[e] = f32(wr * colW[j]);
            }
          }
          sumEntries(data, out, o, channels, src, weight, entries);
          continue;
        }
        for (let i = r0; i < r1; i++) {
          accumulateRow(data, out, o, channels, imageBase + rowIdx[i] * width, rowW[i] / count, colIdx, colW, c0, c1, i === r0);
        }
      }
    }
  }
}

/** out[o + c] = Σ_e w[e]·data[s[e] + c] for n = 4, 6 or 9 entries, unrolled (out written once). */
function sumEntries(data: Float32Array, out: Float32Array, o: number, channels: number, s: Int32Array, w: Float64Array, n: number): void {
  const [s0, s1, s2, s3, w0, w1, w2, w3] = [s[0], s[1], s[2], s[3], w[0], w[1], w[2], w[3]];
  if (n === 4) {
    for (let c = 0; c < channels; c++) out[o + c] = w0 * data[s0 + c] + w1 * data[s1 + c] + w2 * data[s2 + c] + w3 * data[s3 + c];
    return;
  }
  const [s4, s5, w4, w5] = [s[4], s[5], w[4], w[5]];
  if (n === 6) {
    for (let c = 0; c < channels; c++) {
      out[o + c] = w0 * data[s0 + c] + w1 * data[s1 + c] + w2 * data[s2 + c] + w3 * data[s3 + c] + w4 * data[s4 + c] + w5 * data[s5 + c];
    }
    return;
  }
  const [s6, s7, s8, w6, w7, w8] = [s[6], s[7], s[8], w[6], w[7], w[8]];
  for (let c = 0; c < channels; c++) {
    out[o + c] =
      w0 * data[s0 + c] + w1 * data[s1 + c] + w2 * data[s2 + c] + w3 * data[s3 + c] + w4 * data[s4 + c] +
      w5 * data[s5 + c] + w6 * data[s6 + c] + w7 * data[s7 + c] + w8 * data[s8 + c];
  }
}

/**
 * out[o + c] (=, or += unless `first`) Σ_j f32(wr·colW[j])·data[(rowBase + colIdx[j])·C + c] over the
 * bin's columns j ∈ [c0, c1): up to three columns in one pass (the common case: a bin's two samples
 * touch two or three pixels per axis), so `out` is read and written once per row instead of per pixel.
 */
function accumulateRow(
  data: Float32Array,
  out: Float32Array,
  o: number,
  channels: number,
  rowBase: number,
  wr: number,
  colIdx: Int32Array,
  colW: Float64Array,
  c0: number,
  c1: number,
  first: boolean,
): void {
  for (let j = c0; j < c1; j += 3) {
    const n = min(c1 - j, 3);
    const w0 = f32(wr * colW[j]);
    const s0 = (rowBase + colIdx[j]) * channels;
    const set = first && j === c0;
    if (n === 3) {
      const [w1, w2] = [f32(wr * colW[j + 1]), f32(wr * colW[j + 2])];
      const [s1, s2] = [(rowBase + colIdx[j + 1]) * channels, (rowBase + colIdx[j + 2]) * channels];
      if (set) for (let c = 0; c < channels; c++) out[o + c] = w0 * data[s0 + c] + w1 * data[s1 + c] + w2 * data[s2 + c];
      else for (let c = 0; c < channels; c++) out[o + c] += w0 * data[s0 + c] + w1 * data[s1 + c] + w2 * data[s2 + c];
    } else if (n === 2) {
      const w1 = f32(wr * colW[j + 1]);
      const s1 = (rowBase + colIdx[j + 1]) * channels;
      if (set) for (let c = 0; c < channels; c++) out[o + c] = w0 * data[s0 + c] + w1 * data[s1 + c];
      else for (let c = 0; c < channels; c++) out[o + c] += w0 * data[s0 + c] + w1 * data[s1 + c];
    } else if (set) {
      for (let c = 0; c < channels; c++) out[o + c] = w0 * data[s0 + c];
    } else {
      for (let c = 0; c < channels; c++) out[o + c] += w0 * data[s0 + c];
    }
  }
}

/**
 * `MultiScaleRoIAlign.forward` of `pooler` on host arrays: `maps` are the pooler's levels (in its
 * featmapNames order, NHWC), `boxes[i]` the flat x1,y1,x2,y2 boxes of image i. Level of each box and
 * level scales as the pooler computes them (its cached scales when it has run before). Returns
 * [ΣKi, outH, outW, C] in box order.
 */
export function hostMultiScaleRoiAlign(
  pooler: MultiScaleRoIAlign,
  maps: readonly HostTensor[],
  boxes: readonly Float32Array[],
  imageSizes: ReadonlyArray<readonly [number, number]>,
): HostTensor {
  if (maps.length === 0) throw new ValueError('hostMultiScaleRoiAlign: maps must hold at least one level, got none');
  const [outH, outW] = pooler.outputSize;
  const channels = maps[0].shape[3];
  const total = boxes.reduce((a, b) => a + b.length / 4, 0);
  const all = new Float32Array(4 * total);
  const batchIndex = new Int32Array(total);
  let at = 0;
  boxes.forEach((b, i) => {
    all.set(b, 4 * at);
    batchIndex.fill(i, at, at + b.length / 4);
    at += b.length / 4;
  });
  const out = new Float32Array(total * outH * outW * channels);
  const result = { data: out, shape: [total, outH, outW, channels] };
  if (total === 0) return result;
  const scales = pooler.levelScales ?? inferScales(maps, imageSizes);
  const options = (level: number): HostRoiAlignOptions => ({ outputSize: [outH, outW], spatialScale: scales[level], samplingRatio: pooler.samplingRatio, aligned: false });
  if (maps.length === 1) {
    hostRoiAlign(maps[0], all, batchIndex, options(0), out);
    return result;
  }
  const kMin = trunc(-Math.log2(scales[0]));
  const kMax = trunc(-Math.log2(scales[scales.length - 1]));
  const levels = mapLevels(all, kMin, kMax, pooler.canonicalScale, pooler.canonicalLevel);
  maps.forEach((map, level) => {
    const rows: number[] = [];
    levels.forEach((l, r) => l === level && rows.push(r));
    if (rows.length === 0) return;
    const levelBoxes = new Float32Array(4 * rows.length);
    rows.forEach((r, j) => levelBoxes.set(all.subarray(4 * r, 4 * r + 4), 4 * j));
    hostRoiAlign(map, levelBoxes, rows.map((r) => batchIndex[r]), options(level), out, rows);
  });
  return result;
}

// MultiScaleRoIAlign's first-call rule (torchvision _setup_scales): 2^round(log2(featureH / max image h)).
function inferScales(maps: readonly HostTensor[], imageSizes: ReadonlyArray<readonly [number, number]>): number[] {
  if (imageSizes.length === 0) throw new ValueError('hostMultiScaleRoiAlign: imageSizes must not be empty');
  const refH = max(...imageSizes.map((s) => s[0]));
  return maps.map((m) => 2 ** roundHalfEven(f32(Math.log2(f32(m.shape[1] / refH)))));
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
