import * as tf from '@tensorflow/tfjs-core';
import { ValueError, warmupCosine, type Optimizer } from '@residual/core';
import {
  disposeMaeCheckpoint,
  type MaeCheckpoint,
  type MaeCheckpointStore,
  type MaeScheduleRecord,
} from './mae-checkpoint.js';
import type { MaskedAutoencoderViT } from './masked-autoencoder.js';

/** Thrown when a loss is NaN or ±Inf: training stops before the update, as main_pretrain.py's `sys.exit(1)`. */
export class NonFiniteLossError extends ValueError {
  constructor(message: string) {
    super(message);
    this.name = 'NonFiniteLossError';
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** Schedule and accumulation of {@link MaePretrainer} (main_pretrain.py's arguments, camelCase). */
export interface MaePretrainerOptions {
  /** Absolute peak learning rate (the reference derives it as blr · effective batch / 256). */
  lr: number;
  /** Floor of the cosine; default 0. */
  minLr?: number;
  /** Linear warm-up length in epochs (fractional epochs are fine). */
  warmupEpochs: number;
  /** Total epochs of the half-cycle cosine. */
  epochs: number;
  /** Iterations (micro-batches) per epoch, len(data_loader). */
  itersPerEpoch: number;
  /** Micro-batches whose gradients are summed before one optimiser step; default 1. */
  accumIter?: number;
  /** Default 0.75. */
  maskRatio?: number;
  /** Where {@link MaePretrainer.saveCheckpoint} writes and {@link MaePretrainer.resume} reads. */
  checkpointStore?: MaeCheckpointStore;
  /** With a store, {@link MaePretrainer.trainStep} saves after every this-many optimiser steps; default 0 = never. */
  checkpointEvery?: number;
}

/** What one {@link MaePretrainer.step} did. */
export interface MaePretrainStep {
  /** Loss of this micro-batch (before the 1/accumIter scaling). */
  loss: number;
  /** Learning rate of the groups during this micro-batch. */
  lr: number;
  /** Whether the optimiser stepped after this micro-batch. */
  updated: boolean;
  /** Where {@link MaePretrainer.trainStep} saved a checkpoint after this micro-batch, if it did. */
  checkpoint?: string;
}

/**
 * One MAE pre-training iteration at a time, as the official engine_pretrain.py: the learning rate
 * is set per iteration at the start of each accumulation window (half-cycle cosine after linear
 * warm-up, on the fractional epoch `iteration / itersPerEpoch`, times a group's `lrScale` when it
 * has one, as lr_sched.py); the loss is divided by accumIter and gradients are summed until every
 * accumIter-th micro-batch, when the optimiser steps. A NaN/Inf loss throws
 * {@link NonFiniteLossError} before any update. Checkpoints ({@link checkpoint}, {@link saveCheckpoint},
 * {@link resume}) hold the model, optimiser, iteration and the model's generator, so a resumed run
 * draws the same masks and gives bit-identical losses (feed it the same data for each iteration).
 * The model and optimiser are borrowed. Call {@link dispose} to free pending gradients.
 */
export class MaePretrainer {
  /** Micro-batches seen so far (data_iter_step counted over all epochs). */
  iteration: number;
  private pending: tf.NamedTensorMap | null = null;
  private readonly accumIter: number;

  constructor(
    readonly model: MaskedAutoencoderViT,
    readonly optimizer: Optimizer<{ lr: number }>,
    readonly options: MaePretrainerOptions,
    startIteration = 0,
  ) {
    this.accumIter = options.accumIter ?? 1;
    if (!Number.isInteger(this.accumIter) || this.accumIter < 1) {
      throw new ValueError(`MaePretrainer: accumIter must be a positive integer, got ${this.accumIter}`);
    }
    if (!(options.itersPerEpoch > 0)) {
      throw new ValueError(`MaePretrainer: itersPerEpoch must be > 0, got ${options.itersPerEpoch}`);
    }
    const every = options.checkpointEvery ?? 0;
    if (!Number.isInteger(every) || every < 0) {
      throw new ValueError(`MaePretrainer: checkpointEvery must be a non-negative integer, got ${every}`);
    }
    if (every > 0 && !options.checkpointStore) {
      throw new ValueError(`MaePretrainer: checkpointEvery is ${every} but no checkpointStore was given`);
    }
    this.iteration = startIteration;
  }

  /** The learning rate at a (fractional) epoch: lr_sched.adjust_learning_rate. */
  lrAt(epoch: number): number {
    const { lr, minLr = 0, warmupEpochs, epochs } = this.options;
    return warmupCosine(epoch, { baseLr: lr, minLr, warmupEpochs, epochs });
  }

  /** Trains on one micro-batch of images NHWC [N, H, W, C] (borrowed); `noise` [N, L] optional. */
  step(images: tf.Tensor4D, noise?: tf.Tensor2D): MaePretrainStep {
    const i = this.iteration;
    if (i % this.accumIter === 0) {
      const lr = this.lrAt(i / this.options.itersPerEpoch);
      for (const group of this.optimizer.paramGroups) group.lr = lr * ((group as { lrScale?: number }).lrScale ?? 1);
    }
    const vars = [...this.model.trainableParameters().values()];
    const { value, grads } = tf.variableGrads(() => {
      const out = this.model.forward(images, { maskRatio: this.options.maskRatio ?? 0.75, noise });
      tf.dispose([out.pred, out.mask]);
      return tf.div(out.loss, this.accumIter) as tf.Scalar;
    }, vars);
    const loss = value.dataSync()[0] * this.accumIter;
    value.dispose();
    if (!Number.isFinite(loss)) {
      tf.dispose(grads);
      this.dispose();
      throw new NonFiniteLossError(
        `MaePretrainer.step: loss is ${loss} at iteration ${i}, stopping training ` +
          '(no update applied; the last saved checkpoint is untouched)',
      );
    }
    if (this.pending) {
      const previous = this.pending;
      this.pending = tf.tidy(() => {
        const sum: tf.NamedTensorMap = {};
        for (const k of Object.keys(grads)) sum[k] = tf.add(previous[k], grads[k]);
        return sum;
      });
      tf.dispose([previous, grads]);
    } else {
      this.pending = grads;
    }
    const lr = this.optimizer.paramGroups[0].lr;
    this.iteration = i + 1;
    const updated = this.iteration % this.accumIter === 0;
    if (updated) {
      this.optimizer.step(this.pending);
      tf.dispose(this.pending);
      this.pending = null;
    }
    return { loss, lr, updated };
  }

  /**
   * {@link step}, then, with `checkpointEvery` set, saves a checkpoint after every
   * checkpointEvery-th optimiser step (awaited, so the next step starts from a saved state).
   */
  async trainStep(images: tf.Tensor4D, noise?: tf.Tensor2D): Promise<MaePretrainStep> {
    const result = this.step(images, noise);
    const every = this.options.checkpointEvery ?? 0;
    if (result.updated && every > 0 && (this.iteration / this.accumIter) % every === 0) {
      result.checkpoint = await this.saveCheckpoint();
    }
    return result;
  }

  /**
   * The resumable state as a {@link MaeCheckpoint} with new tensors the caller disposes
   * ({@link disposeMaeCheckpoint}). Only between accumulation windows: mid-window gradients are
   * not saved, so it throws a ValueError there.
   */
  checkpoint(): MaeCheckpoint {
    if (this.pending) {
      throw new ValueError(
        `MaePretrainer.checkpoint: iteration ${this.iteration} is inside an accumulation window of ${this.accumIter}; ` +
          'checkpoint after an optimiser step',
      );
    }
    const { checkpointStore: _store, checkpointEvery: _every, ...schedule } = this.options;
    return {
      model: this.model.stateDict(),
      optimizer: this.optimizer.state(),
      iteration: this.iteration,
      generator: this.model.generator.state(),
      config: { ...this.model.config },
      schedule: schedule as MaeScheduleRecord,
    };
  }

  /** Writes {@link checkpoint} to the `checkpointStore`; resolves to where it went. */
  async saveCheckpoint(): Promise<string> {
    const store = this.requireStore('saveCheckpoint');
    const ckpt = this.checkpoint();
    try {
      return await store.save(ckpt);
    } finally {
      disposeMaeCheckpoint(ckpt);
    }
  }

  /**
   * Restores the latest checkpoint of the `checkpointStore` (or the one at `location`): model
   * weights (strict), optimiser state, iteration and the model's generator; drops pending
   * gradients and resolves to true. Without `location` and with nothing saved yet it changes
   * nothing and resolves to false, so a restartable script can always call it.
   */
  async resume(location?: string): Promise<boolean> {
    const store = this.requireStore('resume');
    const where = location ?? (await store.latest());
    if (where === null) return false;
    const ckpt = await store.load(where);
    try {
      this.restore(ckpt);
    } finally {
      disposeMaeCheckpoint(ckpt);
    }
    return true;
  }

  /** Applies a checkpoint record (borrowed) as {@link resume} does. */
  restore(ckpt: MaeCheckpoint): void {
    this.dispose();
    this.model.loadStateDict(ckpt.model);
    this.optimizer.loadState(ckpt.optimizer);
    this.model.generator.setState(ckpt.generator);
    this.iteration = ckpt.iteration;
  }

  private requireStore(where: string): MaeCheckpointStore {
    const store = this.options.checkpointStore;
    if (!store) throw new ValueError(`MaePretrainer.${where}: no checkpointStore in the options`);
    return store;
  }

  /** Frees gradients of an unfinished accumulation window. */
  dispose(): void {
    if (this.pending) tf.dispose(this.pending);
    this.pending = null;
  }
}
