import { readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { ValueError } from '@residual/core';
import { UsageError } from './command.js';

/** File extensions `residual detect` picks up from a directory (what sharp decodes). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg', '.webp', '.tif', '.tiff', '.gif', '.avif'];

/** One image of a run: its path and its position in the whole sorted list (the default image id − 1). */
export interface ListedImage {
  file: string;
  index: number;
}

/**
 * Expands `inputs` (image files and directories; a directory contributes its image files, not
 * recursively) into one list sorted by path (code-unit order, the same on every platform).
 * A missing input, or a directory without images, is a ValueError naming it.
 */
export async function listImages(inputs: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const input of inputs) {
    let isDirectory: boolean;
    try {
      isDirectory = (await stat(input)).isDirectory();
    } catch {
      throw new ValueError(`cannot read image ${input}: no such file or directory`);
    }
    if (!isDirectory) {
      files.push(input);
      continue;
    }
    const names = (await readdir(input)).filter((n) => IMAGE_EXTENSIONS.includes(path.extname(n).toLowerCase()));
    if (names.length === 0) throw new ValueError(`directory ${input} holds no images (${IMAGE_EXTENSIONS.join(' ')})`);
    files.push(...names.map((n) => path.join(input, n)));
  }
  const unique = [...new Set(files)];
  return unique.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** A `--shard i/n` value: this process handles items k with k mod count = index. */
export interface Shard {
  index: number;
  count: number;
}

/** Parses `--shard i/n` (0 ≤ i < n); a UsageError (exit 2) names the flag otherwise. */
export function parseShard(text: string, command: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const [index, count] = match ? [Number(match[1]), Number(match[2])] : [NaN, NaN];
  if (!(count >= 1 && index >= 0 && index < count)) {
    throw new UsageError(`residual ${command}: --shard must be i/n with 0 ≤ i < n, got ${JSON.stringify(text)}`);
  }
  return { index, count };
}

/**
 * The images of one shard of the sorted list: item k goes to shard k mod n, so shards are disjoint,
 * cover the list, and differ in size by at most one. Each keeps its index in the whole list.
 */
export function shardImages(files: readonly string[], shard: Shard = { index: 0, count: 1 }): ListedImage[] {
  return files.map((file, index) => ({ file, index })).filter(({ index }) => index % shard.count === shard.index);
}
