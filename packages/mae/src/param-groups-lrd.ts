import type * as tf from '@tensorflow/tfjs-core';
import type { Module } from '@residual/core';

/** A fine-tuning parameter group: its parameters (borrowed), weight decay and lr multiplier. */
export interface LrdParamGroup {
  params: Map<string, tf.Variable>;
  weightDecay: number;
  /** lr = scheduled lr × lrScale (util/lr_sched.py); {@link MaePretrainer} applies it too. */
  lrScale: number;
}

/** Options of {@link paramGroupsLrd}; defaults as util/lr_decay.param_groups_lrd. */
export interface ParamGroupsLrdOptions {
  /** Default 0.05. */
  weightDecay?: number;
  /** Names exempt from weight decay besides 1-D parameters; default []. main_finetune.py passes `model.noWeightDecay()`. */
  noWeightDecayList?: readonly string[];
  /** Default 0.75. */
  layerDecay?: number;
}

/**
 * The layer id of a ViT parameter (util/lr_decay.get_layer_id_for_vit, after BEiT): `cls_token`,
 * `pos_embed` and `patch_embed.*` are layer 0, `blocks.i.*` layer i + 1, everything else (final
 * norm, fc_norm, head) numLayers = blocks + 1.
 */
export function layerIdForVit(name: string, numLayers: number): number {
  if (name === 'cls_token' || name === 'pos_embed' || name.startsWith('patch_embed')) return 0;
  if (name.startsWith('blocks')) return Number.parseInt(name.split('.')[1], 10) + 1;
  return numLayers;
}

/**
 * Layer-wise lr decay groups of the official fine-tuning (util/lr_decay.param_groups_lrd): a
 * parameter of layer id i gets lrScale = layerDecay^(numLayers − i); 1-D parameters and
 * `noWeightDecayList` names get weight decay 0. Groups are `layer_<id>_<decay|no_decay>` in order of
 * first appearance over `namedParameters()`; untrainable parameters are left out. Parameters are borrowed.
 * Use as `new AdamW(paramGroupsLrd(vit, { noWeightDecayList: vit.noWeightDecay() }), { lr, betas: [0.9, 0.999] })`.
 */
export function paramGroupsLrd(
  model: Module & { readonly blocks: { readonly length: number } },
  { weightDecay = 0.05, noWeightDecayList = [], layerDecay = 0.75 }: ParamGroupsLrdOptions = {},
): LrdParamGroup[] {
  const numLayers = model.blocks.length + 1;
  const groups = new Map<string, LrdParamGroup>();
  for (const [name, p] of model.namedParameters()) {
    if (!p.trainable) continue;
    const noDecay = p.rank === 1 || noWeightDecayList.includes(name);
    const layerId = layerIdForVit(name, numLayers);
    const key = `layer_${layerId}_${noDecay ? 'no_decay' : 'decay'}`;
    let group = groups.get(key);
    if (!group) {
      group = { params: new Map(), weightDecay: noDecay ? 0 : weightDecay, lrScale: layerDecay ** (numLayers - layerId) };
      groups.set(key, group);
    }
    group.params.set(name, p);
  }
  return [...groups.values()];
}
