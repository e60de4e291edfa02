import * as tf from '@tensorflow/tfjs-core';
import { Module } from './module.js';

/** torch.nn.ReLU: max(x, 0) elementwise (no parameters); new tensor, caller owns. */
export class ReLU extends Module {
  /** Same shape as x; caller owns the result. */
  forward<T extends tf.Tensor>(x: T): T {
    return tf.relu(x);
  }
}
