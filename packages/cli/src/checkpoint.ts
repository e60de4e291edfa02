import { mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { ValueError, findNonFinite, type GeneratorState, type HyperValue, type LRSchedulerState, type OptimizerState } from '@residual/core';
import { loadSafetensors, saveSafetensors, writeFileAtomic } from '@residual/core/node';

/** The JSON part of a training checkpoint (`state.json`). */
export interface TrainState {
  format: 'residual-train-checkpoint';
  version: 1;
  /** Epochs completed. */
  epoch: number;
  /** Optimizer steps taken (the scheduler's step). */
  iteration: number;
  arch: string;
  backbone: string;
  /** Classes with the background. */
  numClasses: number;
  /** The annotation file's categories in label order (label k is `categories[k − 1]`). */
  categories: Array<{ id: number; name: string }>;
  /** Optimizer groups (torch's state_dict layout) and each parameter's step count; buffers are in optimizer.safetensors. */
  optimizer: { paramGroups: Array<{ params: number[]; [hyper: string]: HyperValue | number[] }>; steps: Record<number, number> };
  scheduler: LRSchedulerState;
  generator: GeneratorState;
}

/** A checkpoint as loaded: tensors are the caller's to dispose. */
export interface LoadedCheckpoint {
  dir: string;
  state: TrainState;
  /** Model state dict, torch keys and layouts. */
  model: Map<string, tf.Tensor>;
  optimizer: OptimizerState;
}

const LATEST = 'latest';

/** `epoch-0003`: the folder of the checkpoint taken after `epoch` epochs. */
export function epochDirName(epoch: number): string {
  return `epoch-${String(epoch).padStart(4, '0')}`;
}

/**
 * Writes a checkpoint into `outDir` without ever exposing a partial one: everything goes into a
 * temporary folder `.epoch-NNNN.tmp` (model.safetensors, optimizer.safetensors, state.json), which
 * is renamed to `epoch-NNNN`; then the `latest` pointer file is replaced atomically
 * (writeFileAtomic) and older epoch folders and temporary leftovers of killed saves are removed.
 * A process killed at any point leaves `latest` pointing to a complete checkpoint (the previous
 * one until the pointer is replaced) and no partial file under a final name; a test kills a writer
 * with SIGKILL mid-save to check it. Refuses (ValueError, nothing written, `latest` untouched)
 * a model or optimizer tensor holding NaN or ±Infinity, so a diverged run never replaces the
 * last good checkpoint. Saving again the epoch that `latest` already names is not atomic (the old
 * folder is removed before the new one is renamed in); `residual train` never does, it resumes at
 * the next epoch. Tensors are borrowed. Returns the new folder.
 */
export async function saveCheckpoint(
  outDir: string,
  state: TrainState,
  model: Map<string, tf.Tensor>,
  optimizer: OptimizerState,
): Promise<string> {
  const name = epochDirName(state.epoch);
  const buffers = optimizerBuffers(optimizer);
  const steps: Record<number, number> = {};
  for (const [index, s] of Object.entries(optimizer.state)) steps[Number(index)] = s.step;
  const nonFinite = nonFiniteEntry(model, optimizer);
  if (nonFinite !== undefined) {
    const last = await latestCheckpoint(outDir);
    throw new ValueError(
      `saveCheckpoint: ${nonFinite}; ${path.join(outDir, name)} was not written` +
        (last === undefined ? ' and there is no earlier checkpoint' : `, the last good checkpoint is still ${last}`),
    );
  }
  await mkdir(outDir, { recursive: true });
  const temp = path.join(outDir, `.${name}.tmp`);
  await rm(temp, { recursive: true, force: true });
  await mkdir(temp);
  const json: TrainState = { ...state, optimizer: { paramGroups: optimizer.paramGroups, steps } };
  await saveSafetensors(path.join(temp, 'model.safetensors'), model, { metadata: { format: 'pt' } });
  await saveSafetensors(path.join(temp, 'optimizer.safetensors'), buffers);
  await writeFileAtomic(path.join(temp, 'state.json'), new TextEncoder().encode(`${JSON.stringify(json, null, 1)}\n`));
  const final = path.join(outDir, name);
  await discard(final, path.join(outDir, `.${name}.old.tmp`));
  await rename(temp, final);
  await writeFileAtomic(path.join(outDir, LATEST), new TextEncoder().encode(`${name}\n`));
  for (const entry of await readdir(outDir)) {
    if (/^epoch-\d{4,}$/.test(entry) && entry !== name) await discard(path.join(outDir, entry), path.join(outDir, `.${entry}.tmp`));
    else if (LEFTOVER.test(entry)) await rm(path.join(outDir, entry), { recursive: true, force: true });
  }
  return final;
}

/**
 * Temporary names of a save that was killed: `.epoch-NNNN.tmp` folders (being written, or an old
 * checkpoint being removed), `.epoch-NNNN.old.tmp` and writeFileAtomic's `.latest.PID.HEX.tmp`.
 */
const LEFTOVER = /^\.(epoch-\d{4,}(\.old)?\.tmp|latest\.\d+\.[0-9a-f]+\.tmp)$/;

/**
 * Removes checkpoint folder `dir` so that no kill leaves it half deleted under its name: it is renamed
 * to the temporary `aside` first (atomic), then deleted; a leftover is cleaned by the next save.
 */
async function discard(dir: string, aside: string): Promise<void> {
  await rm(aside, { recursive: true, force: true });
  try {
    await rename(dir, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  await rm(aside, { recursive: true, force: true });
}

/** The optimizer's buffers under their checkpoint keys `state.<param index>.<buffer>` (borrowed). */
function optimizerBuffers(optimizer: OptimizerState): Map<string, tf.Tensor> {
  const buffers = new Map<string, tf.Tensor>();
  for (const [index, s] of Object.entries(optimizer.state)) {
    for (const [buffer, t] of Object.entries(s.buffers)) buffers.set(`state.${index}.${buffer}`, t);
  }
  return buffers;
}

/**
 * Names the first model entry or optimizer buffer holding NaN or ±Infinity, with the value and its
 * flat index (`model entry "fc.weight" holds NaN at flat index 3`), or undefined when all are
 * finite: what {@link saveCheckpoint} refuses to write. Reads the tensors back; disposes nothing.
 */
export function nonFiniteEntry(model: ReadonlyMap<string, tf.Tensor>, optimizer: OptimizerState): string | undefined {
  for (const [what, tensors] of [['model', model], ['optimizer buffer', optimizerBuffers(optimizer)]] as const) {
    const found = findNonFinite(tensors);
    if (found) return `${what} entry "${found.key}" holds ${found.value} at flat index ${found.index}`;
  }
  return undefined;
}

/** The checkpoint folder `latest` points to in `dir`, or `undefined` when there is none. */
export async function latestCheckpoint(dir: string): Promise<string | undefined> {
  const pointer = await readFile(path.join(dir, LATEST), 'utf8').catch(() => undefined);
  return pointer === undefined ? undefined : path.join(dir, pointer.trim());
}

/**
 * Loads the checkpoint of `dir`: a folder with a `latest` pointer (`--out` of an earlier run), or
 * an `epoch-NNNN` folder itself. ValueError naming `dir` when it holds no checkpoint or a broken one.
 */
export async function loadCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const isDir = await stat(dir).then((s) => s.isDirectory(), () => false);
  if (!isDir) throw new ValueError(`--resume ${dir}: no such checkpoint folder`);
  const folder = (await latestCheckpoint(dir)) ?? dir;
  let state: TrainState;
  try {
    state = JSON.parse(await readFile(path.join(folder, 'state.json'), 'utf8')) as TrainState;
  } catch {
    throw new ValueError(`--resume ${dir}: no readable state.json in ${folder} (not a residual train checkpoint)`);
  }
  if (state.format !== 'residual-train-checkpoint' || state.version !== 1) {
    throw new ValueError(`--resume ${dir}: ${folder}/state.json is not a version 1 residual train checkpoint`);
  }
  const model = (await loadSafetensors(path.join(folder, 'model.safetensors'))).tensors;
  const buffers = (await loadSafetensors(path.join(folder, 'optimizer.safetensors'))).tensors;
  const optimizer: OptimizerState = { paramGroups: state.optimizer.paramGroups, state: {} };
  for (const [index, step] of Object.entries(state.optimizer.steps)) optimizer.state[Number(index)] = { step, buffers: {} };
  for (const [key, t] of buffers) {
    const [, index, buffer] = key.split('.');
    const entry = optimizer.state[Number(index)];
    if (entry === undefined) throw new ValueError(`--resume ${dir}: optimizer buffer ${key} has no step count in state.json`);
    entry.buffers[buffer] = t;
  }
  return { dir: folder, state, model, optimizer };
}
