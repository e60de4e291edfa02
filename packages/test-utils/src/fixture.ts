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

/** A loaded fixture: named tensors (freed by `dispose`) and JSON metadata, with clear errors for missing keys. */
export interface Fixture {
  get<T extends tf.Tensor = tf.Tensor>(key: string): T;
  has(key: string): boolean;
  meta<T = unknown>(key: string): T;
  dispose(): void;
}

/** Opens `<packageDir>/test/fixtures/<name>.safetensors`; metadata values are parsed as JSON. */
export function openFixture(packageDir: string, name: string): Fixture {
  const { tensors, metadata } = loadFixture(fixturePath(packageDir, `${name}.safetensors`));
  return {
    get<T extends tf.Tensor>(key: string): T {
      const t = tensors.get(key);
      if (!t) throw new Error(`fixture ${name} has no tensor "${key}"`);
      return t as T;
    },
    has: (key) => tensors.has(key),
    meta<T>(key: string): T {
      if (!(key in metadata)) throw new Error(`fixture ${name} has no metadata "${key}"`);
      return JSON.parse(metadata[key]) as T;
    },
    dispose: () => tensors.forEach((t) => t.dispose()),
  };
}
