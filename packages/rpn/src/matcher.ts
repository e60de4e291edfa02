import * as tf from '@tensorflow/tfjs-core';
import { ValueError, assertShape } from '@residual/core';

/**
 * torchvision's `Matcher` (models/detection/_utils.py): assigns each prediction (column) of an
 * [M gt, N pred] quality matrix (IoU) its best ground truth (lowest index on ties), or
 * {@link Matcher.BELOW_LOW_THRESHOLD} (−1) when the best quality is < `lowThreshold`, or
 * {@link Matcher.BETWEEN_THRESHOLDS} (−2) when it is in [low, high). With `allowLowQualityMatches`,
 * every prediction whose quality equals some gt's best quality (all exact ties) gets its own best gt back.
 */
export class Matcher {
  static readonly BELOW_LOW_THRESHOLD = -1;
  static readonly BETWEEN_THRESHOLDS = -2;

  constructor(
    readonly highThreshold: number,
    readonly lowThreshold: number,
    readonly allowLowQualityMatches = false,
  ) {
    if (!(lowThreshold <= highThreshold)) {
      throw new ValueError(`Matcher: lowThreshold must be <= highThreshold, got ${lowThreshold} > ${highThreshold}`);
    }
  }

  /**
   * Matches of a row-major [numGt, numPred] quality matrix (float32 values): Int32Array [numPred] of gt
   * indices or −1 / −2. Throws ValueError for an empty matrix, as torchvision.
   */
  matchArray(quality: ArrayLike<number>, numGt: number, numPred: number): Int32Array {
    if (numGt === 0) throw new ValueError('Matcher: no ground-truth boxes available for one of the images during training');
    if (numPred === 0) throw new ValueError('Matcher: no proposal boxes available for one of the images during training');
    const matches = new Int32Array(numPred);
    const best = new Float32Array(numPred);
    for (let j = 0; j < numPred; j++) {
      let v = quality[j];
      let arg = 0;
      for (let i = 1; i < numGt; i++) {
        const q = quality[i * numPred + j];
        // torch.max(dim=0): first maximum wins; NaN propagates.
        if (q > v || (q !== q && v === v)) {
          v = q;
          arg = i;
        }
      }
      best[j] = v;
      matches[j] = arg;
    }
    const all = this.allowLowQualityMatches ? matches.slice() : null;
    // torch compares the float32 matrix with the thresholds rounded to float32 (0.7 → 0.69999999).
    const low = Math.fround(this.lowThreshold);
    const high = Math.fround(this.highThreshold);
    for (let j = 0; j < numPred; j++) {
      if (best[j] < low) matches[j] = Matcher.BELOW_LOW_THRESHOLD;
      else if (best[j] < high) matches[j] = Matcher.BETWEEN_THRESHOLDS;
    }
    if (all) {
      for (let i = 0; i < numGt; i++) {
        const row = i * numPred;
        let highest = quality[row];
        for (let j = 1; j < numPred; j++) {
          const q = quality[row + j];
          if (q > highest || (q !== q && highest === highest)) highest = q;
        }
        for (let j = 0; j < numPred; j++) if (quality[row + j] === highest) matches[j] = all[j];
      }
    }
    return matches;
  }

  /** Matches of a quality matrix [M,N] (float32): int32 [N], caller owns. Reads the matrix back (dataSync). */
  forward(quality: tf.Tensor2D): tf.Tensor1D {
    assertShape(quality, [-1, -1], 'quality', 'Matcher.forward');
    const [m, n] = quality.shape;
    return tf.tensor1d(this.matchArray(quality.dataSync(), m, n), 'int32');
  }
}
