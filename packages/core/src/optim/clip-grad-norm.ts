import * as tf from '@tensorflow/tfjs-core';
import { ValueError } from '../errors.js';
import type { Gradients } from './optimizer.js';

/** Options of {@link clipGradNorm}. */
export interface ClipGradNormOptions {
  /** Throw when the total norm is NaN or ±Inf (torch's `error_if_nonfinite`); default false. */
  errorIfNonfinite?: boolean;
}

/**
 * torch.nn.utils.clip_grad_norm_ without mutation: the p-norm of all gradients taken together
 * (norm of the per-tensor norms), coef = min(maxNorm / (total + 1e-6), 1), every gradient × coef
 * (also when coef is 1, as torch). `normType` > 0 or Infinity. Returns new gradients keyed as
 * `grads` was (Map or NamedTensorMap; caller owns them; `grads` is borrowed) and `totalNorm`
 * read back to the CPU (a sync point). With no gradients, totalNorm is 0.
 */
export function clipGradNorm<G extends Gradients>(
  grads: G,
  maxNorm: number,
  normType = 2,
  { errorIfNonfinite = false }: ClipGradNormOptions = {},
): { grads: G; totalNorm: number } {
  if (!(normType > 0)) throw new ValueError(`clipGradNorm: normType must be > 0 or Infinity, got ${normType}`);
  const entries: Array<[unknown, tf.Tensor]> = grads instanceof Map ? [...grads.entries()] : Object.entries(grads);
  if (entries.length === 0) return { grads: (grads instanceof Map ? new Map() : {}) as G, totalNorm: 0 };
  const { total, clipped } = tf.tidy(() => {
    const norms = entries.map(([, g]) => pNorm(g, normType));
    const totalNorm = pNorm(tf.stack(norms), normType);
    const coef = tf.minimum(tf.div(maxNorm, tf.add(totalNorm, 1e-6)), 1);
    return { total: totalNorm, clipped: entries.map(([, g]) => tf.mul(g, coef)) };
  });
  const totalNorm = total.dataSync()[0];
  total.dispose();
  if (errorIfNonfinite && !Number.isFinite(totalNorm)) {
    tf.dispose(clipped);
    throw new ValueError(
      `clipGradNorm: the total norm of order ${normType} of the gradients is non-finite (${totalNorm}); ` +
        'pass errorIfNonfinite: false to scale by it anyway',
    );
  }
  const out =
    grads instanceof Map
      ? new Map(entries.map(([k], i) => [k as tf.Variable, clipped[i]]))
      : Object.fromEntries(entries.map(([k], i) => [k as string, clipped[i]]));
  return { grads: out as G, totalNorm };
}

/** ‖x‖_p over all elements as a Scalar (torch.norm of the flattened tensor). */
function pNorm(x: tf.Tensor, p: number): tf.Scalar {
  if (p === Infinity) return tf.max(tf.abs(x)) as tf.Scalar;
  if (p === 2) return tf.sqrt(tf.sum(tf.square(x))) as tf.Scalar;
  if (p === 1) return tf.sum(tf.abs(x));
  return tf.pow(tf.sum(tf.pow(tf.abs(x), p)), 1 / p) as tf.Scalar;
}
