import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { ValueError } from '@residual/core';
import { writeFileAtomic } from '@residual/core/node';
import {
  decodeMaeCheckpoint,
  encodeMaeCheckpoint,
  type MaeCheckpoint,
  type MaeCheckpointFiles,
  type MaeCheckpointStore,
} from './mae-checkpoint.js';

/** Options of {@link MaeCheckpointDir}. */
export interface MaeCheckpointDirOptions {
  /** How many checkpoints to keep (oldest removed after a successful save); default 2. */
  keepLast?: number;
  /** Writes one file durably; default core's writeFileAtomic (temp file + fsync + rename). Injectable for tests. */
  writeFile?: (file: string, bytes: Uint8Array) => Promise<void>;
}

/** The pointer file: the current checkpoint first, then older kept ones. */
interface LatestJson {
  latest: string;
  iteration: number;
  kept: string[];
}

const FILES: Array<keyof MaeCheckpointFiles> = ['model.safetensors', 'optimizer.safetensors', 'trainer.json'];

/**
 * A directory of MAE pre-training checkpoints (Node only):
 * ```
 * root/latest                          JSON pointer {"latest": "checkpoint-00000012", ...}, replaced atomically
 * root/checkpoint-00000012/model.safetensors      torch keys + layouts (the official `model` dict)
 *                          optimizer.safetensors  optimiser buffers, `state.<param index>.<buffer>`
 *                          trainer.json           iteration, generator, config, schedule, optimiser groups
 * ```
 * A save writes a fresh staging directory, renames it into place, and only then swaps `latest`,
 * so a crash or a failed write at any point leaves the previous checkpoint the loadable one.
 */
export class MaeCheckpointDir implements MaeCheckpointStore {
  private readonly keepLast: number;
  private readonly writeFile: (file: string, bytes: Uint8Array) => Promise<void>;

  constructor(
    readonly root: string,
    options: MaeCheckpointDirOptions = {},
  ) {
    this.keepLast = options.keepLast ?? 2;
    if (!Number.isInteger(this.keepLast) || this.keepLast < 1) {
      throw new ValueError(`MaeCheckpointDir: keepLast must be a positive integer, got ${options.keepLast}`);
    }
    this.writeFile = options.writeFile ?? writeFileAtomic;
  }

  /** The current pointer, or null when nothing was saved yet. */
  private async readLatest(): Promise<LatestJson | null> {
    let text: string;
    try {
      text = await fs.readFile(path.join(this.root, 'latest'), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
    return JSON.parse(text) as LatestJson;
  }

  /** The directory of the latest checkpoint, or null when nothing was saved yet. */
  async latest(): Promise<string | null> {
    const pointer = await this.readLatest();
    return pointer ? path.resolve(this.root, pointer.latest) : null;
  }

  /**
   * Saves `checkpoint` (borrowed); resolves to the new checkpoint's directory. See the class comment.
   * A checkpoint that cannot be encoded (a NaN or ±Infinity weight or optimiser buffer: see
   * {@link encodeMaeCheckpoint}) is refused with a ValueError naming the entry and the last good
   * checkpoint, which stays `latest`; nothing is written.
   */
  async save(checkpoint: MaeCheckpoint): Promise<string> {
    const previous = await this.readLatest();
    let name = `checkpoint-${String(checkpoint.iteration).padStart(8, '0')}`;
    // Never rewrite the directory `latest` points to: a second save of one iteration gets its own name.
    if (previous?.latest === name) name = `${name}-${randomBytes(4).toString('hex')}`;
    let files: MaeCheckpointFiles;
    try {
      files = encodeMaeCheckpoint(checkpoint); // an encoding error touches no file
    } catch (e) {
      const last = previous ? `the last good checkpoint is still ${path.resolve(this.root, previous.latest)}` : 'there is no earlier checkpoint';
      throw new ValueError(`${(e as Error).message}; ${path.resolve(this.root, name)} was not written, ${last}`, { cause: e });
    }
    await fs.mkdir(this.root, { recursive: true });
    const staging = path.join(this.root, `.staging-${name}-${randomBytes(6).toString('hex')}`);
    const target = path.resolve(this.root, name);
    try {
      await fs.mkdir(staging);
      for (const file of FILES) await this.writeFile(path.join(staging, file), files[file]);
      await fs.rm(target, { recursive: true, force: true }); // leftovers of an interrupted run, never `latest`
      await fs.rename(staging, target);
    } catch (e) {
      await fs.rm(staging, { recursive: true, force: true }).catch(() => undefined);
      throw e;
    }
    const kept = [name, ...(previous ? [previous.latest, ...previous.kept.filter((k) => k !== previous.latest)] : [])];
    const pointer: LatestJson = { latest: name, iteration: checkpoint.iteration, kept: kept.slice(0, this.keepLast) };
    await this.writeFile(path.join(this.root, 'latest'), new TextEncoder().encode(`${JSON.stringify(pointer)}\n`));
    for (const old of kept.slice(this.keepLast)) await fs.rm(path.join(this.root, old), { recursive: true, force: true });
    return target;
  }

  /**
   * Loads the checkpoint `latest` points to, or the checkpoint directory `location` (absolute, or
   * relative to the root). Throws a ValueError when there is none. Caller owns the tensors.
   */
  async load(location?: string): Promise<MaeCheckpoint> {
    let dir: string;
    if (location === undefined) {
      const pointer = await this.readLatest();
      if (!pointer) throw new ValueError(`MaeCheckpointDir.load: no checkpoint in ${this.root} (no "latest" file)`);
      dir = path.join(this.root, pointer.latest);
    } else {
      dir = path.resolve(this.root, location);
    }
    const bytes = await Promise.all(FILES.map((f) => fs.readFile(path.join(dir, f))));
    const files = Object.fromEntries(FILES.map((f, i) => [f, new Uint8Array(bytes[i])])) as unknown as MaeCheckpointFiles;
    return decodeMaeCheckpoint(files, `MaeCheckpointDir.load(${dir})`);
  }
}
