import * as tf from '@tensorflow/tfjs-core';
import type { Gradients, Optimizer } from '@residual/core';
import type { DetectionTarget, LossName } from './detection-types.js';
import type { GeneralizedRCNN } from './generalized-rcnn.js';

/**
 * One optimisation step: losses of `model.forwardTrain(images, targets)`, gradients of their sum with
 * respect to the model's trainable parameters (frozen ones get none), then `optimizer.step`.
 * Returns each loss as a number; every intermediate tensor is disposed.
 */
export function trainStep(
  model: GeneralizedRCNN,
  optimizer: Pick<Optimizer<{ lr: number }>, 'step'>,
  images: readonly tf.Tensor3D[],
  targets: readonly DetectionTarget[],
): Record<LossName, number> {
  const params = [...model.trainableParameters().values()];
  const values = {} as Record<LossName, number>;
  const { value, grads } = tf.variableGrads(() => {
    const losses = model.forwardTrain(images, targets);
    for (const [name, loss] of Object.entries(losses)) values[name as LossName] = loss.dataSync()[0];
    return tf.addN(Object.values(losses)) as tf.Scalar;
  }, params);
  try {
    optimizer.step(grads as Gradients);
  } finally {
    tf.dispose([value, ...Object.values(grads)]);
  }
  return values;
}
