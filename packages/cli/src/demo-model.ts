import type { Generator } from '@residual/core';
import { maskrcnnFromConfig, type MaskRCNN, type MaskRCNNConfig } from '@residual/mask-rcnn';

/**
 * The small Mask R-CNN of `residual demo`, composed from the packages' parts as torchvision composes
 * a custom detector: a ResNet-18 FPN trained from scratch, so BatchNorm2d learns (there are no
 * ImageNet weights offline) and every stage trains; layers 1–3 only (at 128 px layer4 would see
 * 4×4 maps) with a 64-channel pyramid; anchors of 16–128 px for 16–64 px shapes; light heads
 * (a 256-wide box head, a two-layer 64-channel mask head). The image size is the run's `--size`.
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
} as const satisfies Omit<MaskRCNNConfig, 'minSize' | 'maxSize'>;

/** {@link DEMO_DETECTOR} on `size`-pixel images: what the demo writes into its weights' metadata. */
export function demoDetectorConfig(size: number): MaskRCNNConfig {
  const d = DEMO_DETECTOR;
  return {
    ...d,
    returnedLayers: [...d.returnedLayers],
    anchorSizes: [...d.anchorSizes],
    aspectRatios: [...d.aspectRatios],
    maskHeadLayers: [...d.maskHeadLayers],
    minSize: size,
    maxSize: size,
  };
}

/** {@link DEMO_DETECTOR} for `numClasses` (background included) on `size`-pixel images. Owns its parts. */
export function buildDemoDetector(numClasses: number, size: number, generator: Generator): MaskRCNN {
  return maskrcnnFromConfig(demoDetectorConfig(size), { numClasses, generator });
}
