import type * as tf from '@tensorflow/tfjs-core';
import { Conv2d, ReLU, Sequential, ValueError, kaimingNormal, zeros, type Generator } from '@residual/core';

/** Options of {@link MaskRCNNHeads}. */
export interface MaskRCNNHeadsOptions {
  /** Source of the random init (default: the process-wide generator). */
  generator?: Generator;
}

/**
 * torchvision's `MaskRCNNHeads(in_channels, layers, dilation)` (v1, no norm): for each entry of `layers`
 * a 3×3 conv (padding = dilation = `dilation`, bias) followed by ReLU. Each block is torchvision 0.14's
 * `Conv2dNormActivation`, so keys are `{i}.0.weight` [out,in,3,3] and `{i}.0.bias` (legacy
 * `mask_fcn{i+1}.*` keys: see {@link renameLegacyMaskHeadKeys}). Init as torchvision: kaiming_normal
 * (fan_out, relu) weights, zero biases. `forward`: x [R,P,P,in] NHWC → [R,P,P,layers.at(-1)], caller owns.
 */
export class MaskRCNNHeads extends Sequential {
  /** Channels of the output (the last entry of `layers`). */
  readonly outChannels: number;

  constructor(inChannels: number, layers: readonly number[] = [256, 256, 256, 256], dilation = 1, options: MaskRCNNHeadsOptions = {}) {
    super(...buildBlocks(inChannels, layers, dilation, options.generator));
    this.outChannels = layers[layers.length - 1];
  }

  /** Runs the conv + ReLU blocks on pooled NHWC features x [R,P,P,in] → [R,P,P,out]; caller owns. */
  override forward<T extends tf.Tensor>(x: T): T {
    return super.forward(x);
  }
}

function buildBlocks(inChannels: number, layers: readonly number[], dilation: number, generator?: Generator): Sequential[] {
  if (!Number.isInteger(inChannels) || inChannels < 1) {
    throw new ValueError(`MaskRCNNHeads: inChannels must be a positive integer, got ${inChannels}`);
  }
  if (layers.length === 0 || layers.some((c) => !Number.isInteger(c) || c < 1)) {
    throw new ValueError(`MaskRCNNHeads: layers must be a non-empty list of positive integers, got [${layers.join(',')}]`);
  }
  if (!Number.isInteger(dilation) || dilation < 1) {
    throw new ValueError(`MaskRCNNHeads: dilation must be a positive integer, got ${dilation}`);
  }
  let next = inChannels;
  return layers.map((features) => {
    const conv = new Conv2d(next, features, 3, { padding: dilation, dilation, generator });
    conv.initParameter('weight', (s) => kaimingNormal(s, { mode: 'fan_out', nonlinearity: 'relu' }, generator));
    conv.initParameter('bias', (s) => zeros(s));
    next = features;
    return new Sequential(conv, new ReLU());
  });
}

/**
 * A copy of `dict` (same tensors, borrowed) with torchvision's legacy mask-head keys
 * `<prefix>mask_fcn{i}.{weight,bias}` renamed to `<prefix>{i−1}.0.*`, as MaskRCNNHeads' version-1 state-dict
 * hook does. `prefix` is the heads' key prefix, e.g. `'roi_heads.mask_head.'` for a whole model.
 */
export function renameLegacyMaskHeadKeys(dict: ReadonlyMap<string, tf.Tensor>, prefix = 'roi_heads.mask_head.'): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  for (const [key, value] of dict) {
    const m = key.startsWith(prefix) ? /^mask_fcn(\d+)\.(weight|bias)$/.exec(key.slice(prefix.length)) : null;
    out.set(m ? `${prefix}${Number(m[1]) - 1}.0.${m[2]}` : key, value);
  }
  return out;
}
