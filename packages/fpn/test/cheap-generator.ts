import * as tf from '@tensorflow/tfjs-core';
import { Generator } from '@residual/core';

/**
 * A Generator whose tensor draws are constant fills: building a ResNet with the real one costs about a
 * minute per ResNet-18 inside jest (per-element Math calls), and these tests overwrite or ignore the
 * initial values anyway.
 */
export class CheapGenerator extends Generator {
  override uniform(shape: number[], low = 0, high = 1): tf.Tensor {
    return tf.fill(shape, (low + high) / 2 + 1e-3);
  }

  override normalTensor(shape: number[], mean = 0, std = 1): tf.Tensor {
    return tf.fill(shape, mean + 1e-2 * std);
  }
}
