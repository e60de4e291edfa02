import * as tf from '@tensorflow/tfjs-core';
import { BatchNorm2d } from '../batch-norm.js';
import { Conv2d } from '../conv2d.js';
import { FrozenBatchNorm2d } from '../frozen-batch-norm2d.js';

/** A norm layer that can be folded into the conv before it (eval mode, running statistics). */
export type FoldableNorm = BatchNorm2d | FrozenBatchNorm2d;

/** True when `norm` is a BatchNorm2d with running stats or a FrozenBatchNorm2d of `channels` channels. */
export function isFoldableNorm(norm: unknown, channels: number): norm is FoldableNorm {
  if (norm instanceof FrozenBatchNorm2d) return norm.numFeatures === channels;
  return norm instanceof BatchNorm2d && norm.trackRunningStats && norm.numFeatures === channels;
}

/** True when `conv` is a plain Conv2d that tf.fused.conv2d computes (groups 1, dilation 1). */
export function isFoldableConv(conv: unknown): conv is Conv2d {
  return conv instanceof Conv2d && conv.groups === 1 && conv.dilation[0] === 1 && conv.dilation[1] === 1;
}

/**
 * The eval-mode norm as a per-channel affine y = x·scale + shift, [C] each, in the operation order
 * of the layer's own forward: FrozenBatchNorm2d scale = w·rsqrt(rv + eps); BatchNorm2d
 * scale = rsqrt(rv + eps)·γ. shift = β − rm·scale. Caller owns both (call inside tf.tidy).
 */
export function normAffine(norm: FoldableNorm): { scale: tf.Tensor1D; shift: tf.Tensor1D } {
  const rv = norm.runningVar as tf.Variable;
  const rm = norm.runningMean as tf.Variable;
  const inv = tf.rsqrt(tf.add(rv, norm.eps));
  const scale = (norm.weight ? (norm instanceof FrozenBatchNorm2d ? tf.mul(norm.weight, inv) : tf.mul(inv, norm.weight)) : inv) as tf.Tensor1D;
  const shifted = tf.neg(tf.mul(rm, scale));
  const shift = (norm.bias ? tf.add(norm.bias, shifted) : shifted) as tf.Tensor1D;
  return { scale, shift };
}

/** A conv's filter and bias with the norm after it folded in. */
export interface FoldedWeights {
  /** W·scale per output channel, tfjs filter [kH,kW,in,out]. */
  filter: tf.Tensor4D;
  /** b·scale + shift (or shift without conv bias), [out]. */
  bias: tf.Tensor1D;
}

/** Folds `norm` into `conv`'s weights; new tensors, caller owns them. The module's variables are read only. */
export function foldWeights(conv: Conv2d, norm: FoldableNorm): FoldedWeights {
  return tf.tidy(() => {
    const { scale, shift } = normAffine(norm);
    const filter = tf.mul(conv.weight, scale) as tf.Tensor4D; // [kH,kW,in,out] · [out]
    const bias = (conv.bias ? tf.add(tf.mul(conv.bias, scale), shift) : shift) as tf.Tensor1D;
    return { filter, bias };
  });
}

/**
 * conv with folded weights (→ ReLU) as one tf.fused.conv2d with the conv's stride and symmetric
 * padding. x [N,H,W,in] → [N,H',W',out], NHWC; caller owns the result.
 */
export function foldedConvForward(conv: Conv2d, weights: FoldedWeights, x: tf.Tensor4D, activation: 'linear' | 'relu'): tf.Tensor4D {
  const [ph, pw] = conv.padding;
  return tf.fused.conv2d({
    x,
    filter: weights.filter,
    strides: conv.stride,
    pad: [[0, 0], [ph, ph], [pw, pw], [0, 0]],
    bias: weights.bias,
    activation,
  });
}
