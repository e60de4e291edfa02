import type * as tf from '@tensorflow/tfjs-core';
import type { Module } from '@residual/core';

/** A parameter group for core's optimisers: named parameters and their weight decay. */
export interface WeightDecayGroup {
  params: Map<string, tf.Variable>;
  weightDecay: number;
}

/**
 * The official MAE pre-training groups (main_pretrain.py → timm 0.3.2 `add_weight_decay`):
 * untrainable parameters (the sin-cos tables) are left out; 1-D parameters (norms, biases) and
 * names ending in `.bias` get no weight decay; everything else, `cls_token` and `mask_token`
 * included, gets `weightDecay`. Order: [no decay, decay], as the reference. Parameters are borrowed.
 * Use as `new AdamW(maePretrainParamGroups(model, 0.05), { lr, betas: [0.9, 0.95] })`.
 */
export function maePretrainParamGroups(model: Module, weightDecay: number): [WeightDecayGroup, WeightDecayGroup] {
  const noDecay = new Map<string, tf.Variable>();
  const decay = new Map<string, tf.Variable>();
  for (const [name, param] of model.namedParameters()) {
    if (!param.trainable) continue; // frozen weights
    if (param.rank === 1 || name.endsWith('.bias')) noDecay.set(name, param);
    else decay.set(name, param);
  }
  return [
    { params: noDecay, weightDecay: 0 },
    { params: decay, weightDecay },
  ];
}
