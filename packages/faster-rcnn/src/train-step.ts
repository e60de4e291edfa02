import * as tf from '@tensorflow/tfjs-core';
import { clipGradNorm, type Gradients, type Optimizer } from '@residual/core';
import type { DetectionTarget, LossName } from './detection-types.js';
import type { GeneralizedRCNN } from './generalized-rcnn.js';

/** Options of {@link trainStep}. */
export interface TrainStepOptions {
  /** Rescale the gradients so their total L2 norm is at most this (`clipGradNorm`, as detectron2's CLIP_GRADIENTS). Default: no clipping. */
  maxGradNorm?: number;
}

/**
 * One optimisation step: losses of `model.forwardTrain(images, targets)`, gradients of their sum with
 * respect to the model's trainable parameters (frozen ones get none), optionally clipped to
 * `maxGradNorm`, then `optimizer.step`. Returns each loss as a number; every intermediate tensor is disposed.
 * When a loss is NaN or infinite the update is skipped (the parameters stay as they were) and the
 * values are returned for the caller to act on.
 */
export function trainStep(
  model: GeneralizedRCNN,
  optimizer: Pick<Optimizer<{ lr: number }>, 'step'>,
  images: readonly tf.Tensor3D[],
  targets: readonly DetectionTarget[],
  { maxGradNorm }: TrainStepOptions = {},
): Record<LossName, number> {
  const params = [...model.trainableParameters().values()];
  const values = {} as Record<LossName, number>;
  const { value, grads } = tf.variableGrads(() => {
    const losses = model.forwardTrain(images, targets);
    for (const [name, loss] of Object.entries(losses)) values[name as LossName] = loss.dataSync()[0];
    return tf.addN(Object.values(losses)) as tf.Scalar;
  }, params);
  try {
    // As torchvision's reference loop: a non-finite loss never reaches the weights; the caller
    // sees it in the returned values and decides (stop, skip the batch, lower the lr).
    if (!Object.values(values).every(Number.isFinite)) return values;
    if (maxGradNorm === undefined) {
      optimizer.step(grads as Gradients);
    } else {
      const clipped = clipGradNorm(grads as Gradients, maxGradNorm).grads;
      try {
        optimizer.step(clipped);
      } finally {
        tf.dispose(Object.values(clipped));
      }
    }
  } finally {
    tf.dispose([value, ...Object.values(grads)]);
  }
  return values;
}
