import type * as tf from '@tensorflow/tfjs-core';
import {
  ValueError,
  findNonFinite,
  readSafetensors,
  writeSafetensors,
  type GeneratorState,
  type OptimizerState,
  type ParamState,
} from '@residual/core';
import type { MaeModelConfig } from './masked-autoencoder.js';

/** Format tag written into `trainer.json`; {@link decodeMaeCheckpoint} rejects anything else. */
export const MAE_CHECKPOINT_FORMAT = 'residual-mae-pretrain';

/** The schedule part of a pre-training run that a checkpoint records (JSON). */
export interface MaeScheduleRecord {
  lr: number;
  minLr?: number;
  warmupEpochs: number;
  epochs: number;
  itersPerEpoch: number;
  accumIter?: number;
  maskRatio?: number;
}

/**
 * Everything needed to resume MAE pre-training bit-exactly. `model` is the torch-keyed state dict
 * (what the official code keeps under `checkpoint['model']`); `optimizer` is core's
 * {@link OptimizerState} (buffers in the parameters' tfjs layout); `iteration` counts micro-batches;
 * `generator` is the model's masking-noise generator. Tensors are owned by whoever holds the record
 * ({@link disposeMaeCheckpoint} frees them).
 */
export interface MaeCheckpoint {
  model: Map<string, tf.Tensor>;
  optimizer: OptimizerState;
  iteration: number;
  generator: GeneratorState;
  config: MaeModelConfig;
  schedule: MaeScheduleRecord;
}

/** The three files of a checkpoint directory, as bytes. */
export interface MaeCheckpointFiles {
  /** Torch keys and layouts; `safetensors.torch.load_file` + `load_state_dict` read it. */
  'model.safetensors': Uint8Array;
  /** Optimiser buffers keyed `state.<param index>.<buffer>` (torch's optimizer.state_dict numbering). */
  'optimizer.safetensors': Uint8Array;
  /** Iteration, generator state, config, schedule, optimiser groups and step counts (UTF-8 JSON). */
  'trainer.json': Uint8Array;
}

/** Where a checkpoint goes and comes from (a directory in Node: `MaeCheckpointDir` in `@residual/mae/node`). */
export interface MaeCheckpointStore {
  /** Writes a checkpoint (borrowed) so that a crash midway leaves the previous one loadable; resolves to where it went. */
  save(checkpoint: MaeCheckpoint): Promise<string>;
  /** Reads the latest checkpoint, or the one at `location`; the caller owns the tensors. */
  load(location?: string): Promise<MaeCheckpoint>;
  /** Where the latest checkpoint is, or null when none was saved yet. */
  latest(): Promise<string | null>;
}

interface TrainerJson {
  format: string;
  version: number;
  iteration: number;
  generator: GeneratorState;
  config: MaeModelConfig;
  schedule: MaeScheduleRecord;
  optimizer: { paramGroups: OptimizerState['paramGroups']; steps: Record<string, number> };
}

/**
 * Encodes a checkpoint (borrowed, nothing disposed) into its three files. Throws before returning
 * anything on a bad tensor, and a ValueError naming the entry when a model parameter or buffer or
 * an optimiser buffer holds NaN or ±Infinity: a checkpoint never holds a diverged state.
 */
export function encodeMaeCheckpoint(checkpoint: MaeCheckpoint): MaeCheckpointFiles {
  const buffers = new Map<string, tf.Tensor>();
  const steps: Record<string, number> = {};
  for (const [index, s] of Object.entries(checkpoint.optimizer.state)) {
    steps[index] = s.step;
    for (const [name, t] of Object.entries(s.buffers)) buffers.set(`state.${index}.${name}`, t);
  }
  for (const [what, tensors] of [['model', checkpoint.model], ['optimizer buffer', buffers]] as const) {
    const bad = findNonFinite(tensors);
    if (bad) {
      throw new ValueError(
        `encodeMaeCheckpoint: ${what} entry "${bad.key}" holds ${bad.value} at flat index ${bad.index} ` +
          `(iteration ${checkpoint.iteration}); a checkpoint never holds non-finite values`,
      );
    }
  }
  const json: TrainerJson = {
    format: MAE_CHECKPOINT_FORMAT,
    version: 1,
    iteration: checkpoint.iteration,
    generator: checkpoint.generator,
    config: checkpoint.config,
    schedule: checkpoint.schedule,
    optimizer: { paramGroups: checkpoint.optimizer.paramGroups, steps },
  };
  return {
    'model.safetensors': writeSafetensors(checkpoint.model, { metadata: { format: 'pt' } }),
    'optimizer.safetensors': writeSafetensors(buffers),
    'trainer.json': new TextEncoder().encode(`${JSON.stringify(json, null, 1)}\n`),
  };
}

/**
 * Decodes the files of {@link encodeMaeCheckpoint}. Throws a ValueError naming `where` for a
 * `trainer.json` of another format or a buffer that names no saved parameter. Caller owns the tensors.
 */
export function decodeMaeCheckpoint(files: MaeCheckpointFiles, where = 'decodeMaeCheckpoint'): MaeCheckpoint {
  let json: TrainerJson;
  try {
    json = JSON.parse(new TextDecoder().decode(files['trainer.json'])) as TrainerJson;
  } catch (e) {
    throw new ValueError(`${where}: trainer.json is not valid JSON (${(e as Error).message})`, { cause: e });
  }
  if (json.format !== MAE_CHECKPOINT_FORMAT || json.version !== 1) {
    throw new ValueError(
      `${where}: trainer.json must have format "${MAE_CHECKPOINT_FORMAT}" version 1, got "${json.format}" version ${json.version}`,
    );
  }
  const model = readSafetensors(files['model.safetensors']).tensors;
  const buffers = readSafetensors(files['optimizer.safetensors']).tensors;
  const state: Record<number, ParamState> = {};
  for (const [index, step] of Object.entries(json.optimizer.steps)) state[Number(index)] = { step, buffers: {} };
  for (const [key, t] of buffers) {
    const [, index, name] = key.split('.');
    const s = state[Number(index)];
    if (s === undefined) {
      for (const u of [...model.values(), ...buffers.values()]) u.dispose();
      throw new ValueError(`${where}: optimizer buffer "${key}" belongs to no parameter with a step count in trainer.json`);
    }
    s.buffers[name] = t;
  }
  return {
    model,
    optimizer: { paramGroups: json.optimizer.paramGroups, state },
    iteration: json.iteration,
    generator: json.generator,
    config: json.config,
    schedule: json.schedule,
  };
}

/** Frees the tensors of a checkpoint record. */
export function disposeMaeCheckpoint(checkpoint: MaeCheckpoint): void {
  for (const t of checkpoint.model.values()) t.dispose();
  for (const s of Object.values(checkpoint.optimizer.state)) for (const t of Object.values(s.buffers)) t.dispose();
}
