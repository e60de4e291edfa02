import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { fixturePath, loadFixture } from '@residual/test-utils';
import type { KeyList } from './formula-weights.js';

/** A fixture of tools/fixtures/resnet.py: its tensors (caller disposes), key list and metadata. */
export function resnetFixture(name: string): {
  tensors: Map<string, tf.Tensor>;
  keys: KeyList;
  metadata: Record<string, string>;
} {
  const { tensors, metadata } = loadFixture(fixturePath(path.join(__dirname, '..'), `${name}.safetensors`));
  const keys = metadata.keys ? (JSON.parse(metadata.keys) as KeyList) : [];
  return { tensors, keys, metadata };
}

/** The tensor `key` of a fixture (borrowed from its map). */
export function get<T extends tf.Tensor>(tensors: Map<string, tf.Tensor>, key: string): T {
  const t = tensors.get(key);
  if (!t) throw new Error(`fixture has no tensor "${key}"`);
  return t as T;
}
