import * as tf from '@tensorflow/tfjs-core';
import {
  BatchNorm1d,
  Linear,
  Sequential,
  ShapeError,
  ValueError,
  crossEntropy,
  defaultGenerator,
  formatShape,
  truncNormal,
  zeros,
  type Generator,
  type Optimizer,
} from '@residual/core';
import type { VisionTransformer } from '@residual/vit';

/** Options of {@link linearProbeHead}. */
export interface LinearProbeHeadOptions {
  /** Std of the trunc-normal head weight; default 0.01 (main_linprobe.py, following MoCo v3). */
  std?: number;
  /** Draws the head weight; default core's defaultGenerator(). */
  generator?: Generator;
}

/**
 * main_linprobe.py's head: `Sequential(BatchNorm1d(inFeatures, affine=False, eps=1e-6), Linear(inFeatures,
 * numClasses))`, weight trunc-normal(std 0.01), bias 0. Pass it as the `head` of a VisionTransformer
 * (`vitBasePatch16({ numClasses, head })`): torch keys `head.0.running_mean`, `head.0.running_var`,
 * `head.0.num_batches_tracked`, `head.1.weight`, `head.1.bias`, as the official linear-probe checkpoints.
 * Maps features [N, inFeatures] to logits [N, numClasses].
 */
export function linearProbeHead(inFeatures: number, numClasses: number, options: LinearProbeHeadOptions = {}): Sequential {
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new ValueError(`linearProbeHead: numClasses must be a positive integer, got ${numClasses}`);
  }
  const { std = 0.01, generator = defaultGenerator() } = options;
  const bn = new BatchNorm1d(inFeatures, { affine: false, eps: 1e-6 });
  const fc = new Linear(inFeatures, numClasses, { bias: true, generator });
  fc.initParameter('weight', (s) => truncNormal(s, { std }, generator));
  fc.initParameter('bias', zeros);
  return new Sequential(bn, fc);
}

/**
 * Freezes every parameter of `vit` but its head's, as main_linprobe.py (`requires_grad = False`
 * outside `model.head`), and returns the head's parameters by torch name (`head.1.weight`,
 * `head.1.bias`; borrowed) for the optimiser.
 */
export function freezeForLinearProbe(vit: VisionTransformer): Map<string, tf.Variable> {
  vit.requiresGrad(false);
  vit.head.requiresGrad(true);
  return vit.trainableParameters();
}

/** What one {@link LinearProbe.step} did. */
export interface LinearProbeStep {
  /** Cross-entropy loss of the batch (mean over the batch). */
  loss: number;
}

/**
 * Linear probing of a frozen encoder (main_linprobe.py with engine_finetune.train_one_epoch): the
 * ViT's pooled features (class token, or the global pool with `globalPool`) are computed outside the
 * gradient tape, since the encoder is frozen, and only the head trains, with cross entropy. The ViT
 * is used in train mode, as the reference (it changes only the head's BatchNorm, which normalises
 * with batch statistics and updates its running ones; the encoder of a linear probe has no
 * dropout). Set the learning rate per iteration on `optimizer.paramGroups` (e.g. core's
 * `warmupCosine`). The ViT and optimiser are borrowed.
 */
export class LinearProbe {
  constructor(
    readonly vit: VisionTransformer,
    readonly optimizer: Optimizer<{ lr: number }>,
  ) {
    const outside = [...vit.trainableParameters().keys()].filter((k) => !k.startsWith('head.'));
    if (outside.length > 0) {
      throw new ValueError(
        `LinearProbe: only the head may be trainable, got ${outside.length} other trainable parameters ` +
          `(${outside.slice(0, 3).join(', ')}${outside.length > 3 ? ', …' : ''}); call freezeForLinearProbe(vit) first`,
      );
    }
  }

  /** Frozen features of images NHWC [N, H, W, C] (borrowed): [N, D], caller owns. */
  features(images: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => this.vit.pool(this.vit.forwardFeatures(images)));
  }

  /**
   * One optimiser step of the head on images NHWC [N, H, W, C] and int32 labels [N] (both borrowed).
   * Throws a ShapeError when the labels do not match the batch.
   */
  step(images: tf.Tensor4D, labels: tf.Tensor1D): LinearProbeStep {
    if (labels.rank !== 1 || labels.shape[0] !== images.shape[0]) {
      throw new ShapeError(`LinearProbe.step: labels must be [${images.shape[0]}] (one per image), got ${formatShape(labels.shape)}`);
    }
    this.vit.train();
    const features = this.features(images);
    const vars = [...this.vit.head.trainableParameters().values()];
    const { value, grads } = tf.variableGrads(
      () => crossEntropy(this.vit.head.forward(features) as tf.Tensor2D, labels),
      vars,
    );
    features.dispose();
    const loss = value.dataSync()[0];
    this.optimizer.step(grads);
    tf.dispose([value, grads]);
    return { loss };
  }
}
