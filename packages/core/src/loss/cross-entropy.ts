import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, ValueError, assertDtype, formatShape } from '../errors.js';
import { checkReduction, type Reduction } from './reduction.js';

/** Options of {@link crossEntropy}, as torch.nn.functional.cross_entropy's. */
export interface CrossEntropyOptions {
  /** Targets equal to this contribute nothing and are left out of the mean. Default -100. */
  ignoreIndex?: number;
  /** Default 'mean': Σ loss / Σ weight[target] over non-ignored targets. */
  reduction?: Reduction;
  /** ε in [0, 1]: the target becomes (1 − ε)·onehot + ε/C. Default 0. */
  labelSmoothing?: number;
  /** Per-class weight, float32 [C]. Borrowed, not disposed. */
  weight?: tf.Tensor1D;
}

/**
 * Softmax cross entropy over class logits, as torch.nn.functional.cross_entropy with class-index
 * targets. `logits` float32 [N, C]; `targets` int32 [N] in [0, C) or equal to `ignoreIndex`.
 * Returns a Scalar for 'mean'/'sum', or float32 [N] for 'none' (0 at ignored targets); caller owns.
 * Differentiable w.r.t. `logits`. With every target ignored, 'mean' is NaN (0/0), as torch.
 * Reads `targets` back to the CPU once to check its range.
 */
export function crossEntropy(
  logits: tf.Tensor2D,
  targets: tf.Tensor1D,
  options?: CrossEntropyOptions & { reduction?: 'mean' | 'sum' },
): tf.Scalar;
export function crossEntropy(
  logits: tf.Tensor2D,
  targets: tf.Tensor1D,
  options: CrossEntropyOptions & { reduction: 'none' },
): tf.Tensor1D;
export function crossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D, options?: CrossEntropyOptions): tf.Tensor;
export function crossEntropy(
  logits: tf.Tensor2D,
  targets: tf.Tensor1D,
  { ignoreIndex = -100, reduction = 'mean', labelSmoothing = 0, weight }: CrossEntropyOptions = {},
): tf.Tensor {
  checkInputs(logits, targets, ignoreIndex, labelSmoothing, weight);
  checkReduction(reduction, 'crossEntropy');
  const numClasses = logits.shape[1];
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits); // [N, C]
    const keep = tf.cast(tf.notEqual(targets, ignoreIndex), 'float32'); // [N], 0 at ignored targets
    // oneHot gives an all-zero row for an out-of-range index, e.g. the default -100.
    const onehot = tf.cast(tf.oneHot(targets, numClasses), 'float32'); // [N, C]
    const classWeight = weight ?? tf.ones([numClasses]);
    // w_i = weight[target_i] for kept targets, 0 for ignored ones.
    const w = tf.mul(tf.sum(tf.mul(onehot, classWeight), 1), keep); // [N]
    const nll = tf.neg(tf.mul(tf.sum(tf.mul(logp, onehot), 1), w)); // [N]
    // torch's smoothing term: −Σ_c weight[c]·logp[i, c], zeroed at ignored targets.
    const smooth = tf.neg(tf.mul(tf.sum(tf.mul(logp, classWeight), 1), keep)); // [N]
    const eps = labelSmoothing;
    if (reduction === 'none') {
      return eps === 0 ? nll : tf.add(tf.mul(nll, 1 - eps), tf.mul(smooth, eps / numClasses));
    }
    let nllTotal = tf.sum(nll);
    let smoothTotal = tf.sum(smooth);
    if (reduction === 'mean') {
      // Both terms are normalised by Σ weight[target] over kept targets (the kept count without weights).
      const denominator = tf.sum(w);
      nllTotal = tf.div(nllTotal, denominator);
      smoothTotal = tf.div(smoothTotal, denominator);
    }
    return eps === 0 ? nllTotal : tf.add(tf.mul(nllTotal, 1 - eps), tf.mul(smoothTotal, eps / numClasses));
  });
}

function checkInputs(
  logits: tf.Tensor,
  targets: tf.Tensor,
  ignoreIndex: number,
  labelSmoothing: number,
  weight: tf.Tensor | undefined,
): void {
  if (logits.rank !== 2) throw new ShapeError(`crossEntropy: logits must be [N,C], got ${formatShape(logits.shape)}`);
  assertDtype(logits, ['float32'], 'logits', 'crossEntropy');
  const [n, c] = logits.shape;
  if (targets.rank !== 1 || targets.shape[0] !== n) {
    throw new ShapeError(`crossEntropy: targets must be [${n}] (one class index per logits row), got ${formatShape(targets.shape)}`);
  }
  assertDtype(targets, ['int32'], 'targets', 'crossEntropy');
  if (weight !== undefined) {
    if (weight.rank !== 1 || weight.shape[0] !== c) {
      throw new ShapeError(`crossEntropy: weight must be [${c}] (one per class), got ${formatShape(weight.shape)}`);
    }
    assertDtype(weight, ['float32'], 'weight', 'crossEntropy');
  }
  if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) {
    throw new ValueError(`crossEntropy: labelSmoothing must be in [0, 1], got ${labelSmoothing}`);
  }
  const values = targets.dataSync();
  for (let i = 0; i < values.length; i++) {
    const t = values[i];
    if (t !== ignoreIndex && (t < 0 || t >= c)) {
      throw new ValueError(`crossEntropy: targets[${i}] = ${t} is out of range [0, ${c}) and is not ignoreIndex ${ignoreIndex}`);
    }
  }
}
