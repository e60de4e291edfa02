import * as tf from '@tensorflow/tfjs-core';
import { ValueError } from '@residual/core';

/**
 * Fixed 2-D sin-cos position embedding of the official MAE code (util/pos_embed.py
 * `get_2d_sincos_pos_embed`, after MoCo v3), as a new float32 tensor `[(clsToken ? 1 : 0) + g², E]`
 * the caller owns. Row `(clsToken ? 1 : 0) + i·g + j` is the token at grid row i, column j:
 * `[sin(j·ω) | cos(j·ω) | sin(i·ω) | cos(i·ω)]`, each block E/4 wide, with ω_k = 1/10000^(k/(E/4)).
 * The first half encodes the column although the reference calls it `emb_h` (parity-spec §11.4).
 * The cls row is all zeros. Math is in float64 as numpy's, then rounded once to float32.
 */
export function get2dSincosPosEmbed(embedDim: number, gridSize: number, clsToken = false): tf.Tensor2D {
  if (!Number.isInteger(embedDim) || embedDim <= 0 || embedDim % 4 !== 0) {
    throw new ValueError(`get2dSincosPosEmbed: embedDim must be a positive multiple of 4, got ${embedDim}`);
  }
  if (!Number.isInteger(gridSize) || gridSize <= 0) {
    throw new ValueError(`get2dSincosPosEmbed: gridSize must be a positive integer, got ${gridSize}`);
  }
  const quarter = embedDim / 4;
  const omega = new Float64Array(quarter);
  // pos_embed.py: omega = arange(D/2 / 2, float64) / (D/2 / 2); omega = 1 / 10000**omega.
  for (let k = 0; k < quarter; k++) omega[k] = 1 / 10000 ** (k / quarter);
  const offset = clsToken ? 1 : 0;
  const values = new Float32Array((offset + gridSize * gridSize) * embedDim);
  for (let i = 0; i < gridSize; i++) {
    for (let j = 0; j < gridSize; j++) {
      const row = (offset + i * gridSize + j) * embedDim;
      for (let k = 0; k < quarter; k++) {
        const x = j * omega[k];
        const y = i * omega[k];
        values[row + k] = Math.sin(x);
        values[row + quarter + k] = Math.cos(x);
        values[row + 2 * quarter + k] = Math.sin(y);
        values[row + 3 * quarter + k] = Math.cos(y);
      }
    }
  }
  return tf.tensor2d(values, [offset + gridSize * gridSize, embedDim], 'float32');
}
