import * as tf from '@tensorflow/tfjs-core';
import { ValueError, warmupCosine, type Optimizer } from '@residual/core';
import type { MaskedAutoencoderViT } from './masked-autoencoder.js';

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
}

/** What one {@link MaePretrainer.step} did. */
export interface MaePretrainStep {
  /** Loss of this micro-batch (before the 1/accumIter scaling). */
  loss: number;
  /** Learning rate of the groups during this micro-batch. */
  lr: number;
  /** Whether the optimiser stepped after this micro-batch. */
  updated: boolean;
}

/**
 * One MAE pre-training iteration at a time, as the official engine_pretrain.py: the learning rate
 * is set per iteration at the start of each accumulation window (half-cycle cosine after linear
 * warm-up, on the fractional epoch `iteration / itersPerEpoch`); the loss is divided by accumIter
 * and gradients are summed until every accumIter-th micro-batch, when the optimiser steps.
 * The model and optimiser are borrowed. `iteration` is the only state besides theirs: save it with
 * the model and optimiser state to resume. Call {@link dispose} to free pending gradients.
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
      for (const group of this.optimizer.paramGroups) group.lr = lr;
    }
    const vars = [...this.model.trainableParameters().values()];
    const { value, grads } = tf.variableGrads(() => {
      const out = this.model.forward(images, { maskRatio: this.options.maskRatio ?? 0.75, noise });
      tf.dispose([out.pred, out.mask]);
      return tf.div(out.loss, this.accumIter) as tf.Scalar;
    }, vars);
    const loss = value.dataSync()[0] * this.accumIter;
    value.dispose();
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

  /** Frees gradients of an unfinished accumulation window. */
  dispose(): void {
    if (this.pending) tf.dispose(this.pending);
    this.pending = null;
  }
}
