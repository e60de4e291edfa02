// The sampling plan of torchvision's RoIAlign CPU kernel (roi_align_kernel.cpp), computed on the host
// from the RoI values: for every output bin, the input pixels it reads and their total weights.
//
// Bilinear sampling on a regular grid is separable: a sample at (y, x) contributes
// valid(y)·valid(x)·wy(row)·wx(col) to pixel (row, col), and the validity rule (y < −1 or y > H drops the
// sample, likewise x) is a product too. So a bin's weights are the outer product of a row-weight list
// (summed over the bin's iy samples) and a column-weight list (summed over ix), divided by the sample
// count. Pixels never repeat within a bin, and the work is O(rows·cols) per bin, not O(samples·4).

/** Per-RoI geometry after scaling, exactly as the kernel computes it in float32. */
export interface RoiGeometry {
  batch: number;
  startY: number;
  startX: number;
  binH: number;
  binW: number;
  gridH: number;
  gridW: number;
}

/** Static RoIAlign settings shared by all RoIs. */
export interface RoiAlignConfig {
  height: number;
  width: number;
  pooledH: number;
  pooledW: number;
  spatialScale: number;
  samplingRatio: number;
  aligned: boolean;
}

/** Flat sparse weights: entry e adds weight[e]·input[pixel[e]] to output bin bin[e] (bins ascending). */
export interface RoiAlignPlan {
  pixel: Int32Array;
  bin: Int32Array;
  weight: Float32Array;
  length: number;
}

// Math's functions bound once: a global `Math.x` lookup per call is ~20× slower inside jest's vm
// context (where the tests run), and these loops run O(N²) times.
const { max, min, trunc, ceil } = Math;
const f32 = Math.fround;

/** Geometry of RoI (x1, y1, x2, y2) of image `batch`, float32 step by step as the C++ kernel. */
export function roiGeometry(batch: number, box: ArrayLike<number>, cfg: RoiAlignConfig): RoiGeometry {
  const scale = f32(cfg.spatialScale);
  const offset = cfg.aligned ? 0.5 : 0;
  const startX = f32(f32(box[0] * scale) - offset);
  const startY = f32(f32(box[1] * scale) - offset);
  const endX = f32(f32(box[2] * scale) - offset);
  const endY = f32(f32(box[3] * scale) - offset);
  let roiW = f32(endX - startX);
  let roiH = f32(endY - startY);
  if (!cfg.aligned) {
    // Legacy (aligned=False) behaviour: a RoI is at least one pixel wide and tall.
    roiW = max(roiW, 1);
    roiH = max(roiH, 1);
  }
  const binH = f32(roiH / cfg.pooledH);
  const binW = f32(roiW / cfg.pooledW);
  const gridH = cfg.samplingRatio > 0 ? cfg.samplingRatio : ceil(f32(roiH / cfg.pooledH));
  const gridW = cfg.samplingRatio > 0 ? cfg.samplingRatio : ceil(f32(roiW / cfg.pooledW));
  return { batch, startY, startX, binH, binW, gridH, gridW };
}

/**
 * Accumulates, for bin row `p` along one axis, the bilinear weights of the `grid` samples into
 * `acc` (indexed by pixel row or column) and returns the touched [lo, hi] range (lo > hi if none).
 * Samples outside [−1, size] read zero; (−1, 0] snaps to 0; the last pixel repeats at the far edge.
 */
export function roiAxisWeights(start: number, bin: number, grid: number, p: number, size: number, acc: Float64Array): [number, number] {
  let lo = size;
  let hi = -1;
  const base = f32(start + f32(p * bin));
  for (let i = 0; i < grid; i++) {
    let v = f32(base + f32(f32((i + 0.5) * bin) / grid));
    if (v < -1 || v > size) continue; // the sample reads zeros
    if (v <= 0) v = 0;
    let low = trunc(v);
    let high: number;
    if (low >= size - 1) {
      low = size - 1;
      high = low;
      v = low;
    } else {
      high = low + 1;
    }
    const l = f32(v - low);
    acc[low] += f32(1 - l);
    acc[high] += l;
    lo = min(lo, low);
    hi = max(hi, high);
  }
  return [lo, hi];
}

interface AxisList {
  index: number[];
  weight: number[];
}

function collect(acc: Float64Array, [lo, hi]: [number, number]): AxisList {
  const out: AxisList = { index: [], weight: [] };
  for (let i = lo; i <= hi; i++) {
    if (acc[i] !== 0) {
      out.index.push(i);
      out.weight.push(acc[i]);
    }
    acc[i] = 0;
  }
  return out;
}

/**
 * Builds the sparse plan of every bin of `rois` (in output order), with pixel indices into the input
 * flattened as [N·H·W] rows. A bin with no valid sample gets one zero-weight entry so that every bin
 * owns at least one entry (segment sums then cover all bins).
 */
export function buildPlan(rois: readonly RoiGeometry[], cfg: RoiAlignConfig): RoiAlignPlan {
  const { height, width, pooledH, pooledW } = cfg;
  const rowAcc = new Float64Array(height);
  const colAcc = new Float64Array(width);
  let capacity = max(16, rois.length * pooledH * pooledW * 4);
  let pixel = new Int32Array(capacity);
  let bin = new Int32Array(capacity);
  let weight = new Float32Array(capacity);
  let length = 0;
  const push = (p: number, b: number, w: number): void => {
    if (length === capacity) {
      capacity *= 2;
      const grow = <T extends Int32Array | Float32Array>(a: T, make: (n: number) => T): T => {
        const next = make(capacity);
        next.set(a);
        return next;
      };
      pixel = grow(pixel, (n) => new Int32Array(n));
      bin = grow(bin, (n) => new Int32Array(n));
      weight = grow(weight, (n) => new Float32Array(n));
    }
    pixel[length] = p;
    bin[length] = b;
    weight[length] = w;
    length++;
  };
  rois.forEach((g, k) => {
    const count = max(g.gridH * g.gridW, 1);
    const empty = g.gridH <= 0 || g.gridW <= 0;
    const rows: AxisList[] = [];
    const cols: AxisList[] = [];
    for (let ph = 0; ph < pooledH; ph++) {
      rows.push(empty ? { index: [], weight: [] } : collect(rowAcc, roiAxisWeights(g.startY, g.binH, g.gridH, ph, height, rowAcc)));
    }
    for (let pw = 0; pw < pooledW; pw++) {
      cols.push(empty ? { index: [], weight: [] } : collect(colAcc, roiAxisWeights(g.startX, g.binW, g.gridW, pw, width, colAcc)));
    }
    const imageBase = g.batch * height * width;
    for (let ph = 0; ph < pooledH; ph++) {
      for (let pw = 0; pw < pooledW; pw++) {
        const b = (k * pooledH + ph) * pooledW + pw;
        const r = rows[ph];
        const c = cols[pw];
        if (r.index.length === 0 || c.index.length === 0) {
          push(imageBase, b, 0);
          continue;
        }
        for (let i = 0; i < r.index.length; i++) {
          const rowBase = imageBase + r.index[i] * width;
          const wr = r.weight[i] / count;
          for (let j = 0; j < c.index.length; j++) push(rowBase + c.index[j], b, wr * c.weight[j]);
        }
      }
    }
  });
  return { pixel: pixel.subarray(0, length), bin: bin.subarray(0, length), weight: weight.subarray(0, length), length };
}
