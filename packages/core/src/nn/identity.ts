import * as tf from '@tensorflow/tfjs-core';
import { Module } from './module.js';

/** torch.nn.Identity: returns a clone of x (a new handle the caller owns; x stays the caller's too). */
export class Identity extends Module {
  /** A clone of x; caller owns it. */
  forward<T extends tf.Tensor>(x: T): T {
    return tf.clone(x);
  }
}
