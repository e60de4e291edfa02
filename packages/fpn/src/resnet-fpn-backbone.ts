import { FrozenBatchNorm2d, ValueError, type Generator, type StateDict } from '@residual/core';
import { resnetByName, type NormLayerFactory, type ResNetName } from '@residual/resnet';
import { BackboneWithFPN } from './backbone-with-fpn.js';
import type { ExtraFpnBlock } from './extra-fpn-block.js';

/** Options of {@link resnetFpnBackbone} (torchvision's `resnet_fpn_backbone` arguments, camelCase). */
export interface ResnetFpnBackboneOptions {
  /** Trainable stages counted from the top: layer4, layer3, layer2, layer1, conv1 (+bn1 at 5); 0–5, default 3. */
  trainableLayers?: number;
  /** Stages whose outputs feed the FPN, each in 1..4; default [1, 2, 3, 4] → names '0'..'3'. */
  returnedLayers?: readonly number[];
  /** Default `(c) => new FrozenBatchNorm2d(c)`. */
  normLayer?: NormLayerFactory;
  /** Default LastLevelMaxPool ('pool'). */
  extraBlocks?: ExtraFpnBlock | null;
  /** ResNet weights in torch keys (incl. fc, e.g. an ImageNet checkpoint), loaded strictly before extraction. Borrowed. */
  weights?: StateDict;
  /** Channels of every pyramid level. Default 256 (torchvision); smaller makes a lighter detector. */
  outChannels?: number;
  /** Source of the random init (default: the process-wide generator). */
  generator?: Generator;
}

const FREEZE_ORDER = ['layer4', 'layer3', 'layer2', 'layer1', 'conv1'];

/**
 * torchvision's `resnet_fpn_backbone(backbone_name=name, …)`: builds the named ResNet, loads
 * `weights`, freezes every parameter outside the first `trainableLayers` of [layer4, layer3, layer2,
 * layer1, conv1] (plus bn1 at 5) with `trainable = false`, and wraps it in a {@link BackboneWithFPN}
 * with `in_channels_list = [inplanes/8 · 2^(k−1) for k in returnedLayers]` and `outChannels` (256) output channels.
 * The ResNet's unused fc is disposed; the result owns everything else.
 */
export function resnetFpnBackbone(name: ResNetName, options: ResnetFpnBackboneOptions = {}): BackboneWithFPN {
  const { trainableLayers = 3, returnedLayers = [1, 2, 3, 4], outChannels = 256 } = options;
  if (!Number.isInteger(outChannels) || outChannels < 1) {
    throw new ValueError(`resnetFpnBackbone: outChannels must be a positive integer, got ${outChannels}`);
  }
  if (!Number.isInteger(trainableLayers) || trainableLayers < 0 || trainableLayers > 5) {
    throw new ValueError(`resnetFpnBackbone: trainableLayers must be an integer in [0,5], got ${trainableLayers}`);
  }
  if (returnedLayers.length === 0 || returnedLayers.some((k) => !Number.isInteger(k) || k < 1 || k > 4)) {
    throw new ValueError(`resnetFpnBackbone: returnedLayers must be integers in [1,4], got [${returnedLayers.join(',')}]`);
  }
  const normLayer = options.normLayer ?? ((c: number) => new FrozenBatchNorm2d(c));
  const resnet = resnetByName(name, { normLayer, generator: options.generator });
  try {
    if (options.weights) resnet.loadStateDict(options.weights);
    const train = FREEZE_ORDER.slice(0, trainableLayers);
    if (trainableLayers === 5) train.push('bn1');
    for (const [key, param] of resnet.namedParameters()) {
      if (!train.some((prefix) => key.startsWith(prefix))) param.trainable = false;
    }
    const returnLayers = Object.fromEntries(returnedLayers.map((k, i) => [`layer${k}`, String(i)]));
    const stage2 = resnet.inplanes / 8;
    const inChannelsList = returnedLayers.map((k) => stage2 * 2 ** (k - 1));
    const backbone = new BackboneWithFPN(resnet, returnLayers, inChannelsList, outChannels, options.extraBlocks, {
      generator: options.generator,
    });
    // Everything the body did not adopt (avgpool, fc, and any stage after the last returned one).
    const kept = new Set(backbone.body.children().keys());
    for (const [childName, child] of resnet.children()) if (!kept.has(childName)) child.dispose();
    return backbone;
  } catch (e) {
    resnet.dispose();
    throw e;
  }
}
