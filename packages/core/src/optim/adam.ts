import type * as tf from '@tensorflow/tfjs-core';
import { adamUpdate, validateAdamHyper, type AdamHyper } from './adam-update.js';
import type { AdamOptions } from './adamw.js';
import { Optimizer, type GroupParams, type ParamState } from './optimizer.js';

/**
 * Adam, exactly torch 1.13's: weight decay is an L2 term added to the gradient (g ← g + wd·p,
 * default wd 0), then the AdamW moment updates. Prefer {@link AdamW} for decoupled decay.
 * State buffers: `exp_avg`, `exp_avg_sq` (+ `max_exp_avg_sq`). See {@link Optimizer}.
 */
export class Adam extends Optimizer<AdamHyper> {
  constructor(
    groups: Array<{ params: GroupParams } & Partial<AdamHyper>> | tf.Variable[] | Map<string, tf.Variable>,
    { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = 0, amsgrad = false, maximize = false }: AdamOptions = {},
  ) {
    super(groups, { lr, betas, eps, weightDecay, amsgrad, maximize }, 'Adam');
  }

  protected validate(h: AdamHyper, at: string): void {
    validateAdamHyper(h, 'Adam', at);
  }

  protected update(
    param: tf.Tensor,
    grad: tf.Tensor,
    state: ParamState,
    h: AdamHyper,
  ): { param: tf.Tensor; buffers: Record<string, tf.Tensor> } {
    return adamUpdate(param, grad, state, h, false);
  }
}
