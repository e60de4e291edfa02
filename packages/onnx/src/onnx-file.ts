import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '@residual/core/node';
import type { DetectorExport } from './detector-export.js';

/** Writes ONNX bytes to `file` atomically (temp file + fsync + rename; Node only). */
export async function saveOnnx(file: string, bytes: Uint8Array): Promise<void> {
  await writeFileAtomic(file, bytes);
}

/**
 * Writes an exported detector into `dir` (created if needed): every part file, then
 * `manifest.json` last, each atomically, so a reader that finds the manifest finds every part.
 * Returns the paths written, manifest last.
 */
export async function saveDetectorOnnx(dir: string, exported: DetectorExport): Promise<string[]> {
  await fs.mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const [name, bytes] of exported.files) {
    const file = path.join(dir, name);
    await writeFileAtomic(file, bytes);
    written.push(file);
  }
  const manifest = path.join(dir, 'manifest.json');
  await writeFileAtomic(manifest, new TextEncoder().encode(`${JSON.stringify(exported.manifest, null, 2)}\n`));
  written.push(manifest);
  return written;
}
