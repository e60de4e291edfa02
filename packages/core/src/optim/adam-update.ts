import * as tf from '@tensorflow/tfjs-core';
import { ValueError } from '../errors.js';
import type { ParamState } from './optimizer.js';

/** Hyper-parameters shared by Adam and AdamW (torch's names, camelCase). */
export interface AdamHyper {
  lr: number;
  betas: readonly [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
}

/** Throws a ValueError for the values torch's Adam/AdamW constructors reject. */
export function validateAdamHyper(h: AdamHyper, where: string, at: string): void {
  if (!(h.lr >= 0)) throw new ValueError(`${where}: ${at}.lr must be >= 0, got ${h.lr}`);
  if (!(h.eps >= 0)) throw new ValueError(`${where}: ${at}.eps must be >= 0, got ${h.eps}`);
  const [b1, b2] = h.betas;
  if (!(b1 >= 0 && b1 < 1) || !(b2 >= 0 && b2 < 1)) {
    throw new ValueError(`${where}: ${at}.betas must both be in [0, 1), got [${b1}, ${b2}]`);
  }
  if (!(h.weightDecay >= 0)) throw new ValueError(`${where}: ${at}.weightDecay must be >= 0, got ${h.weightDecay}`);
}

/**
 * One Adam step for one parameter, torch 1.13's `_single_tensor_adam(w)` (non-capturable path).
 * `decoupled` = AdamW (p ← p·(1 − lr·wd) first) versus Adam (g ← g + wd·p). Scalars are computed
 * in float64 as Python does and rounded to float32 when they meet a tensor, as torch does.
 * Call inside a tidy; returns the new parameter and buffers `exp_avg`, `exp_avg_sq` (+ `max_exp_avg_sq`).
 */
export function adamUpdate(
  param: tf.Tensor,
  grad: tf.Tensor,
  state: ParamState,
  h: AdamHyper,
  decoupled: boolean,
): { param: tf.Tensor; buffers: Record<string, tf.Tensor> } {
  const [beta1, beta2] = h.betas;
  let g = h.maximize ? tf.neg(grad) : grad;
  let p = param;
  if (decoupled) p = tf.mul(p, 1 - h.lr * h.weightDecay);
  else if (h.weightDecay !== 0) g = tf.add(g, tf.mul(p, h.weightDecay));
  const m0 = state.buffers.exp_avg ?? tf.zerosLike(param);
  const v0 = state.buffers.exp_avg_sq ?? tf.zerosLike(param);
  const m = tf.add(tf.mul(m0, beta1), tf.mul(g, 1 - beta1));
  const v = tf.add(tf.mul(v0, beta2), tf.mul(tf.mul(g, 1 - beta2), g));
  const buffers: Record<string, tf.Tensor> = { exp_avg: m, exp_avg_sq: v };
  const biasCorrection1 = 1 - beta1 ** state.step;
  const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** state.step);
  const stepSize = h.lr / biasCorrection1;
  let second = v;
  if (h.amsgrad) {
    second = tf.maximum(state.buffers.max_exp_avg_sq ?? tf.zerosLike(param), v);
    buffers.max_exp_avg_sq = second;
  }
  // eps is added after the bias-corrected square root, as torch: √v / √(1 − β2^t) + eps.
  const denom = tf.add(tf.div(tf.sqrt(second), biasCorrection2Sqrt), h.eps);
  return { param: tf.sub(p, tf.mul(tf.div(m, denom), stepSize)), buffers };
}
