import * as tf from '@tensorflow/tfjs-core';
import { disposeSample, type Sample, type Target } from './sample.js';

/**
 * A transform of an image with its target, kept in step. Sync and pure apart from the random
 * draws of its Generator: returns a new sample whose tensors the caller owns and never disposes
 * its input.
 */
export type Transform = (sample: Sample) => Sample;

/** Replacement tensors for {@link withTensors}; fields not given are cloned from the input. */
export interface SampleChanges {
  image?: tf.Tensor3D;
  boxes?: tf.Tensor2D;
  masks?: tf.Tensor3D;
}

/**
 * A new sample made of `changes` plus clones (cheap: shared data) of every other tensor of
 * `sample`, so the result never aliases a tensor the caller of a transform may dispose.
 */
export function withTensors(sample: Sample, changes: SampleChanges): Sample {
  const t = sample.target;
  const target: Target = {
    boxes: changes.boxes ?? tf.clone(t.boxes),
    labels: tf.clone(t.labels),
    iscrowd: tf.clone(t.iscrowd),
    area: tf.clone(t.area),
    imageId: t.imageId,
  };
  if (t.masks) target.masks = changes.masks ?? tf.clone(t.masks);
  return { image: changes.image ?? tf.clone(sample.image), target };
}

/**
 * Chains transforms left to right (torchvision's `Compose`). Intermediate samples are disposed;
 * the input is not. An empty list returns a clone.
 */
export function compose(transforms: readonly Transform[]): Transform {
  return (sample) => {
    let current = transforms.length === 0 ? withTensors(sample, {}) : sample;
    transforms.forEach((transform, i) => {
      const next = transform(current);
      if (i > 0) disposeSample(current);
      current = next;
    });
    return current;
  };
}
