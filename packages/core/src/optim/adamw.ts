import type * as tf from '@tensorflow/tfjs-core';
import { adamUpdate, validateAdamHyper, type AdamHyper } from './adam-update.js';
import { Optimizer, type GroupParams, type ParamState } from './optimizer.js';

/** AdamW / Adam options (torch's, camelCase); every field has torch's default. */
export interface AdamOptions {
  /** Default 1e-3. */
  lr?: number;
  /** Default [0.9, 0.999]. */
  betas?: readonly [number, number];
  /** Added after the bias-corrected √v; default 1e-8. */
  eps?: number;
  /** AdamW default 1e-2 (decoupled); Adam default 0 (L2 on the gradient). */
  weightDecay?: number;
  /** Default false. */
  amsgrad?: boolean;
  /** Default false. */
  maximize?: boolean;
}

/**
 * AdamW, exactly torch 1.13's: p ← p·(1 − lr·wd); m ← β1·m + (1 − β1)·g; v ← β2·v + (1 − β2)·g²;
 * p ← p − lr/(1 − β1^t) · m / (√v/√(1 − β2^t) + eps). State buffers: `exp_avg`, `exp_avg_sq`
 * (+ `max_exp_avg_sq` with amsgrad). MAE: `new AdamW([{ params: decay }, { params: noDecay,
 * weightDecay: 0 }], { lr, betas: [0.9, 0.95], weightDecay: 0.05 })`. See {@link Optimizer}.
 */
export class AdamW extends Optimizer<AdamHyper> {
  constructor(
    groups: Array<{ params: GroupParams } & Partial<AdamHyper>> | tf.Variable[] | Map<string, tf.Variable>,
    { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = 1e-2, amsgrad = false, maximize = false }: AdamOptions = {},
  ) {
    super(groups, { lr, betas, eps, weightDecay, amsgrad, maximize }, 'AdamW');
  }

  protected validate(h: AdamHyper, at: string): void {
    validateAdamHyper(h, 'AdamW', at);
  }

  protected update(
    param: tf.Tensor,
    grad: tf.Tensor,
    state: ParamState,
    h: AdamHyper,
  ): { param: tf.Tensor; buffers: Record<string, tf.Tensor> } {
    return adamUpdate(param, grad, state, h, true);
  }
}
