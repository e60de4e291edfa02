import * as tf from '@tensorflow/tfjs-core';
import { Optimizer, ValueError, type GroupParams, type ParamState } from '@residual/core';

/** LARS hyper-parameters (the official util/lars.py's, camelCase). */
export interface LARSOptions {
  lr: number;
  /** L2 term added to the gradient of parameters with more than one dimension; default 0. */
  weightDecay?: number;
  /** Default 0.9. */
  momentum?: number;
  /** η of the trust ratio η·‖p‖/‖d‖; default 0.001. */
  trustCoefficient?: number;
}

type LARSHyper = Required<LARSOptions>;

/**
 * LARS as the official MAE linear probe uses it (util/lars.py, from MoCo v3): for a parameter with
 * more than one dimension, d = g + wd·p, scaled by the trust ratio η·‖p‖/‖d‖ (1 when either norm is 0);
 * biases and other 1-D parameters get the plain gradient (no decay, no scaling). Then
 * mu = momentum·mu + d (mu starts at 0) and p ← p − lr·mu. State buffer: `mu`. Norms are over the
 * whole tensor, so the tfjs layout of a parameter does not matter. See core's Optimizer for `step`,
 * `state`, `loadState`, `dispose`.
 */
export class LARS extends Optimizer<LARSHyper> {
  constructor(
    groups: Array<{ params: GroupParams } & Partial<LARSOptions>> | tf.Variable[] | Map<string, tf.Variable>,
    { lr, weightDecay = 0, momentum = 0.9, trustCoefficient = 0.001 }: LARSOptions,
  ) {
    super(groups, { lr, weightDecay, momentum, trustCoefficient }, 'LARS');
  }

  protected validate(h: LARSHyper, at: string): void {
    for (const key of ['lr', 'weightDecay', 'momentum', 'trustCoefficient'] as const) {
      if (!(h[key] >= 0)) throw new ValueError(`LARS: ${at}.${key} must be >= 0, got ${h[key]}`);
    }
  }

  protected update(
    param: tf.Tensor,
    grad: tf.Tensor,
    state: ParamState,
    h: LARSHyper,
  ): { param: tf.Tensor; buffers: Record<string, tf.Tensor> } {
    let d = grad;
    if (param.rank > 1) {
      d = tf.add(d, tf.mul(param, h.weightDecay));
      const paramNorm = tf.norm(param);
      const updateNorm = tf.norm(d);
      const one = tf.onesLike(paramNorm);
      const trust = tf.div(tf.mul(paramNorm, h.trustCoefficient), updateNorm);
      const q = tf.where(tf.greater(paramNorm, 0), tf.where(tf.greater(updateNorm, 0), trust, one), one);
      d = tf.mul(d, q);
    }
    const prev = state.buffers.mu;
    // torch starts mu at zeros: 0·momentum + d is d, and the clone keeps a borrowed grad out of the state
    const mu = prev === undefined ? tf.clone(d) : tf.add(tf.mul(prev, h.momentum), d);
    return { param: tf.sub(param, tf.mul(mu, h.lr)), buffers: { mu } };
  }
}
