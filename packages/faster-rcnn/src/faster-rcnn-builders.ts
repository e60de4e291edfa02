import { FrozenBatchNorm2d, type StateDict } from '@residual/core';
import { resnetFpnBackbone } from '@residual/fpn';
import type { ResNetName } from '@residual/resnet';
import { FasterRCNN, type FasterRCNNOptions } from './faster-rcnn.js';

/** Options of {@link fasterrcnnResnet50Fpn} and {@link fasterrcnnResnetFpn}: {@link FasterRCNNOptions} plus the backbone's. */
export interface FasterRCNNResnetFpnOptions extends FasterRCNNOptions {
  /** Trainable ResNet stages counted from layer4 (0–5), as torchvision's `trainable_backbone_layers`. Default 3. */
  trainableBackboneLayers?: number;
  /** eps of every FrozenBatchNorm2d. Default 1e-5; torchvision's COCO_V1 detection weights need 0. */
  frozenBnEps?: number;
  /**
   * ResNet classification weights in torch keys (an ImageNet checkpoint, `fc.*` included), loaded into
   * the body before freezing, as torchvision's `weights_backbone`. Borrowed, not disposed.
   */
  weightsBackbone?: StateDict;
}

/**
 * Faster R-CNN on `resnetFpnBackbone(name)` (FPN width 256, levels '0'–'3' + 'pool') with
 * FrozenBatchNorm2d (eps `frozenBnEps`) and the first `trainableBackboneLayers` stages trainable, e.g.
 * `fasterrcnnResnetFpn('resnet18', { numClasses: 5 })`. `numClasses` defaults to 91 (COCO) unless a
 * `boxPredictor` is given. State-dict keys are torchvision's (`backbone.body.*`, `backbone.fpn.*`,
 * `rpn.head.*`, `roi_heads.*`). Unlike torchvision, which builds plain BatchNorm2d with every stage
 * trainable when no weights at all are requested, the structure is always that of the COCO weights
 * (FrozenBN, so they load with `loadStateDict` after building). Throws as {@link FasterRCNN} and
 * `resnetFpnBackbone` (trainableBackboneLayers outside 0–5); nothing is leaked on a throw.
 */
export function fasterrcnnResnetFpn(name: ResNetName, options: FasterRCNNResnetFpnOptions = {}): FasterRCNN {
  const { trainableBackboneLayers = 3, frozenBnEps = 1e-5, weightsBackbone, ...rest } = options;
  const numClasses = rest.boxPredictor ? rest.numClasses : (rest.numClasses ?? 91);
  const backbone = resnetFpnBackbone(name, {
    trainableLayers: trainableBackboneLayers,
    normLayer: (c: number) => new FrozenBatchNorm2d(c, { eps: frozenBnEps }),
    weights: weightsBackbone,
    generator: rest.generator,
  });
  try {
    return new FasterRCNN(backbone, { ...rest, numClasses });
  } catch (e) {
    backbone.dispose();
    throw e;
  }
}

/**
 * torchvision's `fasterrcnn_resnet50_fpn` architecture (295 state-dict entries with 91 classes, names
 * and shapes identical). For torchvision's COCO_V1 weights build with `{ frozenBnEps: 0 }`, then
 * `model.loadStateDict(dict)`. Options and throws as {@link fasterrcnnResnetFpn}.
 */
export function fasterrcnnResnet50Fpn(options: FasterRCNNResnetFpnOptions = {}): FasterRCNN {
  return fasterrcnnResnetFpn('resnet50', options);
}
