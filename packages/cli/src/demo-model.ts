import { BatchNorm2d, type Generator } from '@residual/core';
import { FastRCNNPredictor, MultiScaleRoIAlign, TwoMLPHead } from '@residual/faster-rcnn';
import { resnetFpnBackbone } from '@residual/fpn';
import { MaskRCNN, MaskRCNNHeads, MaskRCNNPredictor } from '@residual/mask-rcnn';
import { AnchorGenerator } from '@residual/rpn';

/**
 * The small Mask R-CNN of `residual demo`, composed from the packages' parts as torchvision composes
 * a custom detector: a ResNet-18 FPN trained from scratch, so BatchNorm2d learns (there are no
 * ImageNet weights offline) and every stage trains; layers 1–3 only (at 128 px layer4 would see
 * 4×4 maps) with a 64-channel pyramid; anchors of 16–128 px for 16–64 px shapes; light heads
 * (a 256-wide box head, a two-layer 64-channel mask head).
 */
export const DEMO_DETECTOR = {
  backbone: 'resnet18',
  returnedLayers: [1, 2, 3],
  fpnChannels: 64,
  anchorSizes: [16, 32, 64, 128],
  aspectRatios: [0.5, 1, 2],
  representationSize: 256,
  maskHeadLayers: [64, 64],
  rpnBatchSizePerImage: 64,
  boxBatchSizePerImage: 64,
  rpnPreNmsTopNTrain: 600,
  rpnPostNmsTopNTrain: 300,
  rpnPreNmsTopNTest: 300,
  rpnPostNmsTopNTest: 100,
} as const;

/** {@link DEMO_DETECTOR} for `numClasses` (background included) on `size`-pixel images. Owns its parts. */
export function buildDemoDetector(numClasses: number, size: number, generator: Generator): MaskRCNN {
  const d = DEMO_DETECTOR;
  const backbone = resnetFpnBackbone(d.backbone, {
    trainableLayers: 5,
    returnedLayers: d.returnedLayers,
    outChannels: d.fpnChannels,
    normLayer: (c) => new BatchNorm2d(c),
    generator,
  });
  const levels = d.returnedLayers.map((_, i) => String(i));
  const c = d.fpnChannels;
  const mask = d.maskHeadLayers;
  return new MaskRCNN(backbone, {
    minSize: size,
    maxSize: size,
    generator,
    rpnAnchorGenerator: new AnchorGenerator(d.anchorSizes.map((s) => [s]), d.anchorSizes.map(() => d.aspectRatios)),
    rpnBatchSizePerImage: d.rpnBatchSizePerImage,
    rpnPreNmsTopNTrain: d.rpnPreNmsTopNTrain,
    rpnPostNmsTopNTrain: d.rpnPostNmsTopNTrain,
    rpnPreNmsTopNTest: d.rpnPreNmsTopNTest,
    rpnPostNmsTopNTest: d.rpnPostNmsTopNTest,
    boxRoiPool: new MultiScaleRoIAlign(levels, 7, 2),
    boxHead: new TwoMLPHead(c * 7 * 7, d.representationSize, { generator }),
    boxPredictor: new FastRCNNPredictor(d.representationSize, numClasses, { generator }),
    boxBatchSizePerImage: d.boxBatchSizePerImage,
    maskRoiPool: new MultiScaleRoIAlign(levels, 14, 2),
    maskHead: new MaskRCNNHeads(c, mask, 1, { generator }),
    maskPredictor: new MaskRCNNPredictor(mask[mask.length - 1], mask[mask.length - 1], numClasses, { generator }),
  });
}
