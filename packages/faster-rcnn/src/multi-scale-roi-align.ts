import * as tf from '@tensorflow/tfjs-core';
import { Module, ShapeError, ValueError, formatShape, roiAlign } from '@residual/core';

// torchvision ops/poolers.py (parity-spec §7.1). Global lookups are slow under jest's vm: bind once.
const { floor, fround, log2, max, min, sqrt } = Math;

/** Options of {@link MultiScaleRoIAlign} beyond torchvision's positional arguments. */
export interface MultiScaleRoIAlignOptions {
  /** Box side (√area) pooled from `canonicalLevel`. Default 224. */
  canonicalScale?: number;
  /** Pyramid level of a `canonicalScale`-sized box. Default 4. */
  canonicalLevel?: number;
}

/**
 * The FPN level index of each box (x1,y1,x2,y2 flat array) as torchvision's LevelMapper, in float32:
 * `clamp(floor(k0 + log2(√area / s0) + 1e-6), kMin, kMax) − kMin`.
 */
export function mapLevels(
  boxes: ArrayLike<number>,
  kMin: number,
  kMax: number,
  canonicalScale = 224,
  canonicalLevel = 4,
): Int32Array {
  const n = boxes.length / 4;
  const out = new Int32Array(n);
  const eps = fround(1e-6);
  for (let i = 0; i < n; i++) {
    const area = fround(fround(boxes[4 * i + 2] - boxes[4 * i]) * fround(boxes[4 * i + 3] - boxes[4 * i + 1]));
    const s = fround(sqrt(area));
    const lvl = floor(fround(fround(canonicalLevel + fround(log2(fround(s / canonicalScale)))) + eps));
    // NaN (negative area) compares false everywhere: torch's clamp keeps NaN and int64 turns it into kMin's branch.
    out[i] = (Number.isNaN(lvl) ? kMin : min(max(lvl, kMin), kMax)) - kMin;
  }
  return out;
}

/**
 * torchvision's `MultiScaleRoIAlign(featmapNames, outputSize, samplingRatio)`: pools every box from one
 * pyramid level chosen by its size (canonical √area 224 at level 4). Level scales are inferred on the
 * first call as `2^round(log2(featureHeight / max image height))` (height only, as torchvision) and then
 * kept, as torchvision caches them on the module. RoIAlign runs with `aligned = false`.
 * No parameters.
 */
export class MultiScaleRoIAlign extends Module {
  readonly featmapNames: readonly string[];
  readonly outputSize: [number, number];
  readonly samplingRatio: number;
  readonly canonicalScale: number;
  readonly canonicalLevel: number;
  private scales: number[] | null = null;

  constructor(
    featmapNames: readonly string[] = ['0', '1', '2', '3'],
    outputSize: number | readonly [number, number] = 7,
    samplingRatio = 2,
    options: MultiScaleRoIAlignOptions = {},
  ) {
    super();
    if (featmapNames.length === 0) throw new ValueError('MultiScaleRoIAlign: featmapNames must name at least one feature map, got none');
    this.featmapNames = [...featmapNames];
    this.outputSize = typeof outputSize === 'number' ? [outputSize, outputSize] : [outputSize[0], outputSize[1]];
    this.samplingRatio = samplingRatio;
    this.canonicalScale = options.canonicalScale ?? 224;
    this.canonicalLevel = options.canonicalLevel ?? 4;
  }

  /** The inferred scale of each selected level (after the first call), else null. */
  get levelScales(): readonly number[] | null {
    return this.scales;
  }

  /**
   * Pools `boxes[i]` [Ki,4] (x1,y1,x2,y2 in resized-image pixels of image i) from the NHWC maps of
   * `features` named in `featmapNames` (in the map's order). `imageSizes` are the unpadded `[h, w]`.
   * Returns float32 [ΣKi, outH, outW, C] in box order (image by image), caller owns. Differentiable
   * with respect to the features.
   */
  forward(
    features: ReadonlyMap<string, tf.Tensor4D>,
    boxes: readonly tf.Tensor2D[],
    imageSizes: ReadonlyArray<readonly [number, number]>,
  ): tf.Tensor4D {
    const maps = [...features].filter(([k]) => this.featmapNames.includes(k)).map(([, v]) => v);
    if (maps.length === 0) {
      throw new ValueError(
        `MultiScaleRoIAlign.forward: features hold none of [${this.featmapNames.join(',')}], got [${[...features.keys()].join(',')}]`,
      );
    }
    boxes.forEach((b, i) => {
      if (b.rank !== 2 || b.shape[1] !== 4) {
        throw new ShapeError(`MultiScaleRoIAlign.forward: boxes[${i}] must be [K,4], got ${formatShape(b.shape)}`);
      }
    });
    if (!this.scales) this.scales = inferScales(maps, imageSizes);
    const scales = this.scales;
    return tf.tidy(() => {
      const rois = toRoiRows(boxes); // [R,5] (batch index, x1, y1, x2, y2)
      const [outH, outW] = this.outputSize;
      if (maps.length === 1) return roiAlign(maps[0], rois, [outH, outW], scales[0], this.samplingRatio, false);
      const kMin = Math.trunc(-log2(scales[0]));
      const kMax = Math.trunc(-log2(scales[scales.length - 1]));
      const flat = boxes.map((b) => b.dataSync());
      const all = new Float32Array(flat.reduce((a, f) => a + f.length, 0));
      flat.reduce((off, f) => (all.set(f, off), off + f.length), 0);
      const levels = mapLevels(all, kMin, kMax, this.canonicalScale, this.canonicalLevel);
      const order: number[] = [];
      const pooled: tf.Tensor4D[] = [];
      maps.forEach((map, level) => {
        const idx: number[] = [];
        levels.forEach((l, r) => l === level && idx.push(r));
        if (idx.length === 0) return;
        order.push(...idx);
        const levelRois = tf.gather(rois, tf.tensor1d(idx, 'int32')) as tf.Tensor2D;
        pooled.push(roiAlign(map, levelRois, [outH, outW], scales[level], this.samplingRatio, false));
      });
      const channels = maps[0].shape[3];
      if (pooled.length === 0) return tf.zeros([0, outH, outW, channels]) as tf.Tensor4D;
      const stacked = pooled.length === 1 ? pooled[0] : tf.concat(pooled, 0); // [R,oh,ow,C] in level order
      const inverse = new Int32Array(order.length);
      order.forEach((r, j) => (inverse[r] = j));
      return tf.gather(stacked, tf.tensor1d(inverse, 'int32')) as tf.Tensor4D; // back to RoI order
    });
  }
}

// torchvision _setup_scales: reference size = per-axis max of the image sizes; scale from the height only.
function inferScales(maps: readonly tf.Tensor4D[], imageSizes: ReadonlyArray<readonly [number, number]>): number[] {
  if (imageSizes.length === 0) throw new ValueError('MultiScaleRoIAlign.forward: imageSizes must not be empty');
  const refH = max(...imageSizes.map((s) => s[0]));
  return maps.map((m) => 2 ** roundHalfEven(fround(log2(fround(m.shape[1] / refH)))));
}

// torch.round: halves go to the even neighbour.
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function toRoiRows(boxes: readonly tf.Tensor2D[]): tf.Tensor2D {
  if (boxes.length === 0) return tf.zeros([0, 5]) as tf.Tensor2D;
  const rows = boxes.map((b, i) => tf.concat([tf.fill([b.shape[0], 1], i), b], 1));
  return tf.concat(rows, 0) as tf.Tensor2D;
}
