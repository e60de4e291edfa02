import * as tf from '@tensorflow/tfjs-core';
import { ValueError, type Generator } from '@residual/core';
import type { Sample } from './sample.js';
import { withTensors, type Transform } from './transform.js';

/**
 * Mirrors an image left–right with its target: image and masks reversed along W, boxes
 * (x1, y1, x2, y2) → (W − x2, y1, W − x1, y2) in float32 (torchvision's detection reference
 * `RandomHorizontalFlip`). Returns a new sample; the input is not disposed.
 */
export function horizontalFlip(sample: Sample): Sample {
  const width = sample.image.shape[1];
  const changes = tf.tidy(() => {
    const [x1, y1, x2, y2] = tf.unstack(sample.target.boxes, 1);
    const w = tf.scalar(width);
    return {
      image: tf.reverse(sample.image, 1),
      boxes: tf.stack([tf.sub(w, x2), y1, tf.sub(w, x1), y2], 1) as tf.Tensor2D,
      ...(sample.target.masks ? { masks: tf.reverse(sample.target.masks, 2) } : {}),
    };
  });
  return withTensors(sample, changes);
}

/**
 * Flips with probability `p` ({@link horizontalFlip}), drawing one `generator.random()` per call
 * (flip when the draw is < p, as torchvision's `torch.rand(1) < p`); otherwise returns clones.
 */
export function randomHorizontalFlip(p: number, generator: Generator): Transform {
  if (!(p >= 0 && p <= 1)) throw new ValueError(`randomHorizontalFlip: p must be in [0, 1], got ${p}`);
  return (sample) => (generator.random() < p ? horizontalFlip(sample) : withTensors(sample, {}));
}
