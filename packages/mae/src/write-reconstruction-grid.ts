import type * as tf from '@tensorflow/tfjs-core';
import { writeFileAtomic } from '@residual/core/node';
import sharp from 'sharp';
import type { Reconstruction } from './reconstruct.js';
import { renderReconstructionGrid, type ReconstructionGridOptions } from './reconstruction-grid.js';

/**
 * Writes {@link renderReconstructionGrid}'s grid (original | masked | reconstruction |
 * reconstruction + visible, one row per sample) as a PNG file (Node only; sharp encodes, the
 * write is atomic). Tensors are borrowed.
 */
export async function writeReconstructionGrid(
  file: string,
  original: tf.Tensor4D,
  result: Pick<Reconstruction, 'masked' | 'reconstruction' | 'pasted'>,
  options: ReconstructionGridOptions = {},
): Promise<void> {
  const { data, width, height } = renderReconstructionGrid(original, result, options);
  const png = await sharp(data, { raw: { width, height, channels: 3 } }).png().toBuffer();
  await writeFileAtomic(file, png);
}
