import * as tf from '@tensorflow/tfjs-core';
import { ValueError } from '../errors.js';
import { applyReduction, checkPair, checkReduction, type Reduction } from './reduction.js';

/** Options of {@link smoothL1Loss}: `beta` (default 1, ≥ 0) and `reduction` (default 'mean'). */
export interface SmoothL1LossOptions {
  beta?: number;
  reduction?: Reduction;
}

/**
 * Smooth L1 (Huber-like) loss, as torch.nn.functional.smooth_l1_loss:
 * z = |x − y|; z < beta ? 0.5·z²/beta : z − 0.5·beta. beta = 0 is plain L1 (torch then also
 * gives gradient −1 at x = y, which tf.abs reproduces). `input`/`target` float32 of one shape.
 * Returns a Scalar for 'mean'/'sum' or a tensor of the input's shape for 'none'; caller owns.
 */
export function smoothL1Loss(
  input: tf.Tensor,
  target: tf.Tensor,
  options?: { beta?: number; reduction?: 'mean' | 'sum' },
): tf.Scalar;
export function smoothL1Loss(
  input: tf.Tensor,
  target: tf.Tensor,
  options: { beta?: number; reduction: 'none' },
): tf.Tensor;
export function smoothL1Loss(input: tf.Tensor, target: tf.Tensor, options?: SmoothL1LossOptions): tf.Tensor;
export function smoothL1Loss(
  input: tf.Tensor,
  target: tf.Tensor,
  { beta = 1, reduction = 'mean' }: SmoothL1LossOptions = {},
): tf.Tensor {
  checkReduction(reduction, 'smoothL1Loss');
  if (!(beta >= 0)) throw new ValueError(`smoothL1Loss: beta must be >= 0, got ${beta}`);
  checkPair(input, target, 'smoothL1Loss');
  return tf.tidy(() => {
    const z = tf.abs(tf.sub(input, target));
    // beta = 0 must not reach the quadratic branch: its 1/beta would turn the gradient into NaN.
    if (beta === 0) return applyReduction(z, reduction);
    // torch's order of operations: 0.5 · z · z / beta.
    const quadratic = tf.div(tf.mul(tf.mul(z, 0.5), z), beta);
    const linear = tf.sub(z, 0.5 * beta);
    // Branch mask z < beta as 0/1 through tf.step (tfjs has no gradient for Less, and step's is 0);
    // both branches are finite, so the blend selects exactly.
    const below = tf.step(tf.sub(beta, z)); // 1 where z < beta
    return applyReduction(tf.add(tf.mul(below, quadratic), tf.mul(tf.sub(1, below), linear)), reduction);
  });
}
