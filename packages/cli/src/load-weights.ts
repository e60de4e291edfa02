import { readSafetensors, type SafetensorsContents } from '@residual/core';
import { rawTensorsToContents } from './raw-safetensors.js';
import { readInput } from './read-input.js';
import { isLegacyTorch, readTorchCheckpoint } from './torch-checkpoint.js';
import { ZipArchive } from './zip-archive.js';

/** Weights as loaded from disk, with where they came from. */
export interface LoadedWeights extends SafetensorsContents {
  format: 'safetensors' | 'torch';
  /** For torch checkpoints: the top-level key the state dict was under (`''` for a bare state dict). */
  source: string;
}

/**
 * Loads a safetensors file or a PyTorch zip checkpoint (told apart by their bytes, or a torch file
 * extension) as tfjs tensors in torch layout; the caller disposes them. `what` names the argument
 * (`input`, `--weights`) in the error for a missing file.
 */
export async function loadWeights(file: string, what: string): Promise<LoadedWeights> {
  const bytes = await readInput(file, what);
  const torchLike = ZipArchive.isZip(bytes) || isLegacyTorch(bytes) || /\.(pth?|pt|bin|ckpt|tar)$/i.test(file);
  if (!torchLike) return { ...readSafetensors(bytes), format: 'safetensors', source: '' };
  const checkpoint = readTorchCheckpoint(bytes, file);
  return { ...rawTensorsToContents(checkpoint.tensors, { format: 'pt' }), format: 'torch', source: checkpoint.source };
}

