import { FrozenBatchNorm2d, type StateDict } from '@residual/core';
import { resnetFpnBackbone } from '@residual/fpn';
import type { ResNetName } from '@residual/resnet';
import { MaskRCNN, type MaskRCNNOptions } from './mask-rcnn.js';

/** Options of {@link maskrcnnResnet50Fpn} and {@link maskrcnnResnetFpn}: {@link MaskRCNNOptions} plus the backbone's. */
export interface MaskRCNNResnetFpnOptions extends MaskRCNNOptions {
  /** Trainable ResNet stages counted from layer4 (0–5), torchvision's `trainable_backbone_layers`. Default 3. */
  trainableBackboneLayers?: number;
  /** eps of every FrozenBatchNorm2d. Default 1e-5; torchvision's COCO_V1 weights need 0. */
  frozenBnEps?: number;
  /** ResNet classification weights (torch keys, `fc.*` included) loaded into the body, torchvision's `weights_backbone`. Borrowed. */
  weightsBackbone?: StateDict;
}

/**
 * Mask R-CNN on `resnetFpnBackbone(name)` (FPN 256, levels '0'–'3' + 'pool', FrozenBatchNorm2d with eps
 * `frozenBnEps`), e.g. `maskrcnnResnetFpn('resnet18', { numClasses: 3 })`. `numClasses` defaults to 91
 * (COCO) unless a box or mask predictor is given. Throws as {@link MaskRCNN}; nothing leaks on a throw.
 */
export function maskrcnnResnetFpn(name: ResNetName, options: MaskRCNNResnetFpnOptions = {}): MaskRCNN {
  const { trainableBackboneLayers = 3, frozenBnEps = 1e-5, weightsBackbone, ...rest } = options;
  const numClasses = rest.boxPredictor || rest.maskPredictor ? rest.numClasses : (rest.numClasses ?? 91);
  const backbone = resnetFpnBackbone(name, {
    trainableLayers: trainableBackboneLayers,
    normLayer: (c: number) => new FrozenBatchNorm2d(c, { eps: frozenBnEps }),
    weights: weightsBackbone,
    generator: rest.generator,
  });
  try {
    return new MaskRCNN(backbone, { ...rest, numClasses });
  } catch (e) {
    backbone.dispose();
    throw e;
  }
}

/**
 * torchvision's `maskrcnn_resnet50_fpn` architecture (307 state-dict entries with 91 classes, names and
 * shapes identical). For torchvision's COCO_V1 weights build with `{ frozenBnEps: 0 }`, then
 * `model.loadStateDict(dict)`.
 */
export function maskrcnnResnet50Fpn(options: MaskRCNNResnetFpnOptions = {}): MaskRCNN {
  return maskrcnnResnetFpn('resnet50', options);
}
