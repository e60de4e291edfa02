import type * as tf from '@tensorflow/tfjs-core';
import { promises as fs } from 'node:fs';
import { readSafetensors } from './read-safetensors.js';
import type { SafetensorsContents, WriteSafetensorsOptions } from './safetensors.js';
import { writeFileAtomic } from './write-file-atomic.js';
import { writeSafetensors } from './write-safetensors.js';

/**
 * Reads a safetensors file from disk (Node only); see {@link readSafetensors} for the dtype
 * mapping and the ValueErrors of a malformed file. File-system errors are Node's own (ENOENT…).
 * The returned tensors are the caller's to dispose.
 */
export async function loadSafetensors(file: string): Promise<SafetensorsContents> {
  const bytes = await fs.readFile(file);
  return readSafetensors(bytes);
}

/**
 * Writes tensors to a safetensors file atomically (Node only): encodes everything first (see
 * {@link writeSafetensors}; an encoding error touches no file), then {@link writeFileAtomic}
 * (temp file + fsync + rename + directory fsync). On failure the old file is intact and no
 * temporary file remains. Never disposes the tensors.
 */
export async function saveSafetensors(
  file: string,
  tensors: Map<string, tf.Tensor> | Record<string, tf.Tensor>,
  options: WriteSafetensorsOptions = {},
): Promise<void> {
  await writeFileAtomic(file, writeSafetensors(tensors, options));
}
