import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { readSafetensors } from '@residual/core';

/** Absolute path of `name` under a package's test/fixtures folder. */
export function fixturePath(packageDir: string, name: string): string {
  return path.join(packageDir, 'test', 'fixtures', name);
}

/**
 * Reads a committed reference fixture (a safetensors file written by a tools/ script).
 * Returns its tensors (caller disposes) and metadata.
 */
export function loadFixture(file: string): { tensors: Map<string, tf.Tensor>; metadata: Record<string, string> } {
  const { tensors, metadata } = readSafetensors(new Uint8Array(fs.readFileSync(file)));
  return { tensors, metadata };
}
