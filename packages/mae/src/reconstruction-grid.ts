import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, formatShape } from '@residual/core';
import type { Reconstruction } from './reconstruct.js';

/** Options of {@link renderReconstructionGrid}. */
export interface ReconstructionGridOptions {
  /** Per-channel mean the data pipeline subtracted (e.g. ImageNet's [0.485, 0.456, 0.406]); default 0. */
  mean?: readonly number[];
  /** Per-channel std it divided by (ImageNet's [0.229, 0.224, 0.225]); default 1. */
  std?: readonly number[];
  /** White pixels between tiles; default 2. */
  gap?: number;
}

/** An 8-bit RGB image, rows top to bottom, `data.length = width·height·3`. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/**
 * One row per sample: original | masked | reconstruction | reconstruction + visible, as the
 * paper's figures. Images (borrowed) are NHWC with 3 channels in the model's normalised space;
 * each is un-normalised with `x·std + mean`, clipped to [0, 1] and rounded to 8 bits (the
 * notebook's `clip((x·std + mean)·255, 0, 255)`). Reads the tensors back to the CPU (sync).
 */
export function renderReconstructionGrid(
  original: tf.Tensor4D,
  result: Pick<Reconstruction, 'masked' | 'reconstruction' | 'pasted'>,
  { mean = [0, 0, 0], std = [1, 1, 1], gap = 2 }: ReconstructionGridOptions = {},
): RgbImage {
  const tiles = [original, result.masked, result.reconstruction, result.pasted];
  const [n, h, w, c] = original.shape;
  if (c !== 3 || tiles.some((t) => !tf.util.arraysEqual(t.shape, original.shape))) {
    throw new ShapeError(
      `renderReconstructionGrid: all four images must be [N,H,W,3] like the original, got ${tiles.map((t) => formatShape(t.shape)).join(', ')}`,
    );
  }
  const width = 4 * w + 3 * gap;
  const height = n * h + (n - 1) * gap;
  const data = new Uint8Array(width * height * 3).fill(255);
  const { round, min, max } = Math;
  tiles.forEach((t, col) => {
    const v = t.dataSync();
    for (let s = 0; s < n; s++) {
      for (let y = 0; y < h; y++) {
        let o = (((s * (h + gap) + y) * width) + col * (w + gap)) * 3;
        let i = ((s * h + y) * w) * 3;
        for (let x = 0; x < w; x++) {
          for (let ch = 0; ch < 3; ch++) data[o++] = round(min(max(v[i++] * std[ch] + mean[ch], 0), 1) * 255);
        }
      }
    }
  });
  return { data, width, height };
}
