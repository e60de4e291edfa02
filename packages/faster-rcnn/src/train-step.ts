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
