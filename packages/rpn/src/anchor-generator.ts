import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, ValueError } from '@residual/core';
import type { ImageBatch } from './image-batch.js';

const { fround, sqrt, floor } = Math;

/** Round half to even (torch.round). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Base anchors of one level, centred on 0 (torchvision's `generate_anchors`), as a flat
 * [sizes·ratios·4] float32 array in (ratio outer, size inner) order: `hr = √r`, `wr = 1/hr`,
 * `ws = wr·size`, `hs = hr·size` in float32, anchor = round_half_even([−ws, −hs, ws, hs] / 2).
 */
export function cellAnchors(sizes: readonly number[], aspectRatios: readonly number[]): Float32Array {
  const out = new Float32Array(sizes.length * aspectRatios.length * 4);
  let i = 0;
  for (const r of aspectRatios) {
    const hr = fround(sqrt(fround(r)));
    const wr = fround(1 / hr);
    for (const size of sizes) {
      const ws = fround(wr * fround(size));
      const hs = fround(hr * fround(size));
      for (const v of [-ws, -hs, ws, hs]) out[i++] = roundHalfEven(v / 2);
    }
  }
  return out;
}

/**
 * torchvision 0.14's `AnchorGenerator`: per feature level i, `sizes[i].length · aspectRatios[i].length`
 * anchors (aspect ratio = h/w) at every cell's top-left corner `(x·strideW, y·strideH)`, with
 * strides `⌊Hb/gh⌋`, `⌊Wb/gw⌋` from the padded batch size (so 'pool' can get stride 61).
 *
 * Level grids are cached per (grid size, stride); the cache is owned by this generator and freed by
 * {@link dispose}.
 */
export class AnchorGenerator {
  readonly sizes: ReadonlyArray<readonly number[]>;
  readonly aspectRatios: ReadonlyArray<readonly number[]>;
  /** Base anchors per level, flat [A·4] (x1,y1,x2,y2). */
  readonly cellAnchors: readonly Float32Array[];
  private readonly cache = new Map<string, tf.Tensor2D>();

  /**
   * @param sizes anchor sizes per level, default torchvision's `((32,), (64,), (128,), (256,), (512,))`.
   * @param aspectRatios ratios per level, default `(0.5, 1.0, 2.0)` for every level.
   */
  constructor(
    sizes: ReadonlyArray<readonly number[]> = [[32], [64], [128], [256], [512]],
    aspectRatios?: ReadonlyArray<readonly number[]>,
  ) {
    const ratios = aspectRatios ?? sizes.map(() => [0.5, 1.0, 2.0]);
    if (sizes.length === 0 || ratios.length !== sizes.length) {
      throw new ValueError(
        `AnchorGenerator: sizes and aspectRatios must have one entry per level, got ${sizes.length} and ${ratios.length}`,
      );
    }
    for (const list of [...sizes, ...ratios]) {
      if (list.length === 0 || list.some((v) => !(v > 0))) {
        throw new ValueError(`AnchorGenerator: sizes and aspect ratios must be positive numbers, got [${list.join(',')}]`);
      }
    }
    this.sizes = sizes.map((s) => [...s]);
    this.aspectRatios = ratios.map((r) => [...r]);
    this.cellAnchors = this.sizes.map((s, i) => cellAnchors(s, this.aspectRatios[i]));
  }

  /** Anchors per cell for each level (sizes × ratios). */
  numAnchorsPerLocation(): number[] {
    return this.sizes.map((s, i) => s.length * this.aspectRatios[i].length);
  }

  /**
   * Anchors [gh·gw·A, 4] of `level` for a grid [gh, gw] and stride [sh, sw], ordered (y, x, anchor).
   * Cached: borrowed, do not dispose (freed by {@link dispose}).
   */
  gridAnchors(level: number, grid: readonly [number, number], stride: readonly [number, number]): tf.Tensor2D {
    const key = `${level}:${grid.join('x')}:${stride.join('x')}`;
    let anchors = this.cache.get(key);
    if (!anchors) {
      const base = this.cellAnchors[level];
      const a = base.length / 4;
      const [gh, gw] = grid;
      const [sh, sw] = stride;
      const values = new Float32Array(gh * gw * a * 4);
      let i = 0;
      for (let y = 0; y < gh; y++) {
        for (let x = 0; x < gw; x++) {
          for (let k = 0; k < a; k++) {
            values[i++] = x * sw + base[4 * k];
            values[i++] = y * sh + base[4 * k + 1];
            values[i++] = x * sw + base[4 * k + 2];
            values[i++] = y * sh + base[4 * k + 3];
          }
        }
      }
      // Kept: the cache outlives any caller's tidy; this generator disposes it (dispose()).
      anchors = tf.keep(tf.tensor2d(values, [gh * gw * a, 4]));
      this.cache.set(key, anchors);
    }
    return anchors;
  }

  /**
   * Anchors of all levels for `images` and `featureMaps` (NHWC, one per level, fine → coarse),
   * concatenated in level order: [Σ gh·gw·A, 4] float32 (x1,y1,x2,y2, batch pixels). Every image of the
   * batch has these same anchors (torchvision returns one copy per image). New tensor, caller owns.
   */
  forward(images: ImageBatch, featureMaps: readonly tf.Tensor4D[]): tf.Tensor2D {
    if (featureMaps.length !== this.sizes.length) {
      throw new ShapeError(
        `AnchorGenerator.forward: featureMaps must hold ${this.sizes.length} maps (one per sizes entry), got ${featureMaps.length}`,
      );
    }
    const [, hb, wb] = images.tensor.shape;
    const levels = featureMaps.map((f, i) => {
      const [gh, gw] = [f.shape[1], f.shape[2]];
      return this.gridAnchors(i, [gh, gw], [floor(hb / gh), floor(wb / gw)]);
    });
    return tf.concat(levels, 0);
  }

  /** Frees the cached level grids. The generator stays usable (grids are rebuilt on demand). */
  dispose(): void {
    for (const t of this.cache.values()) t.dispose();
    this.cache.clear();
  }
}
