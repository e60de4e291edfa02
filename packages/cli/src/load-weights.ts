import { open } from 'node:fs/promises';
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


/**
 * The `__metadata__` of a safetensors file, read from its header alone (no tensor data), or `{}` for
 * anything else (a torch checkpoint, a file too short or whose header is not JSON: loading it reports those).
 */
export async function readSafetensorsMetadata(file: string): Promise<Record<string, string>> {
  const handle = await open(file, 'r');
  try {
    const size = Buffer.alloc(8);
    if ((await handle.read(size, 0, 8, 0)).bytesRead < 8) return {};
    const length = Number(size.readBigUInt64LE(0));
    if (length > 100 * 2 ** 20) return {}; // not a safetensors header (readSafetensors explains why)
    const header = Buffer.alloc(length);
    if ((await handle.read(header, 0, length, 8)).bytesRead < length) return {};
    const json = JSON.parse(header.toString('utf8')) as { __metadata__?: Record<string, string> };
    return json?.__metadata__ ?? {};
  } catch {
    return {};
  } finally {
    await handle.close();
  }
}
