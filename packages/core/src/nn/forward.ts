import type * as tf from '@tensorflow/tfjs-core';
import type { Module } from './module.js';

/** Anything with a one-argument `forward` (layers, blocks, whole models). */
export interface Forward<I = tf.Tensor, O = tf.Tensor> {
  /** Runs the computation; the result is a new tensor the caller owns, `x` is not disposed. */
  forward(x: I): O;
}

/** A module with a tensor → tensor `forward`: what {@link Sequential} chains. */
export type Layer = Module & Forward<tf.Tensor, tf.Tensor>;
