import * as tf from '@tensorflow/tfjs-core';
import { ValueError } from '../errors.js';
import { Optimizer, type GroupParams, type ParamState } from './optimizer.js';

/** SGD hyper-parameters (torch.optim.SGD's, camelCase). */
export interface SGDOptions {
  lr: number;
  /** Default 0 (no momentum buffer). */
  momentum?: number;
  /** Default 0. */
  dampening?: number;
  /** L2 penalty added to the gradient; default 0. */
  weightDecay?: number;
  /** Default false; needs momentum > 0 and dampening 0. */
  nesterov?: boolean;
  /** Ascend instead of descend; default false. */
  maximize?: boolean;
}

type SGDHyper = Required<SGDOptions>;

/**
 * Stochastic gradient descent with momentum, exactly torch 1.13's SGD (single-tensor path):
 * d = g + wd·p; buf = d at the first step, else momentum·buf + (1 − dampening)·d;
 * d = nesterov ? d + momentum·buf : buf; p ← p − lr·d. State buffer: `momentum_buffer`.
 * Groups: `new SGD([{ params, lr: 0.1 }, { params: noDecay, weightDecay: 0 }], { lr: 0.02, momentum: 0.9 })`
 * or `new SGD(params, { lr })`. See {@link Optimizer} for `step`, `state`, `loadState`, `dispose`.
 */
export class SGD extends Optimizer<SGDHyper> {
  constructor(
    groups: Array<{ params: GroupParams } & Partial<SGDOptions>> | tf.Variable[] | Map<string, tf.Variable>,
    { lr, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false, maximize = false }: SGDOptions,
  ) {
    super(groups, { lr, momentum, dampening, weightDecay, nesterov, maximize }, 'SGD');
  }

  protected validate(h: SGDHyper, at: string): void {
    if (!(h.lr >= 0)) throw new ValueError(`SGD: ${at}.lr must be >= 0, got ${h.lr}`);
    if (!(h.momentum >= 0)) throw new ValueError(`SGD: ${at}.momentum must be >= 0, got ${h.momentum}`);
    if (!(h.weightDecay >= 0)) throw new ValueError(`SGD: ${at}.weightDecay must be >= 0, got ${h.weightDecay}`);
    if (h.nesterov && (h.momentum <= 0 || h.dampening !== 0)) {
      throw new ValueError(
        `SGD: ${at}: nesterov needs momentum > 0 and dampening 0, got momentum ${h.momentum}, dampening ${h.dampening}`,
      );
    }
  }

  protected update(
    param: tf.Tensor,
    grad: tf.Tensor,
    state: ParamState,
    h: SGDHyper,
  ): { param: tf.Tensor; buffers: Record<string, tf.Tensor> } {
    let d = h.maximize ? tf.neg(grad) : grad;
    if (h.weightDecay !== 0) d = tf.add(d, tf.mul(param, h.weightDecay));
    const buffers: Record<string, tf.Tensor> = {};
    if (h.momentum !== 0) {
      const prev = state.buffers.momentum_buffer;
      // torch clones d on the first step (no dampening); the clone also keeps a borrowed grad out of our state.
      const buf = prev === undefined ? tf.clone(d) : tf.add(tf.mul(prev, h.momentum), tf.mul(d, 1 - h.dampening));
      buffers.momentum_buffer = buf;
      d = h.nesterov ? tf.add(d, tf.mul(buf, h.momentum)) : buf;
    }
    return { param: tf.sub(param, tf.mul(d, h.lr)), buffers };
  }
}
