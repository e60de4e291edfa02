import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { fixturePath, loadFixture } from '@residual/test-utils';

/** A fixture of tools/fixtures/mask_rcnn.py: tensors (caller disposes via `dispose`) and metadata. */
export interface Fixture {
  get<T extends tf.Tensor = tf.Tensor>(key: string): T;
  has(key: string): boolean;
  meta<T = unknown>(key: string): T;
  dispose(): void;
}

/** Loads `test/fixtures/<name>.safetensors`. */
export function fixture(name: string): Fixture {
  const { tensors, metadata } = loadFixture(fixturePath(path.join(__dirname, '..'), `${name}.safetensors`));
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
