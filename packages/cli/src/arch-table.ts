import type * as tf from '@tensorflow/tfjs-core';
import { ValueError, type Module } from '@residual/core';
import {
  resnet18,
  resnet34,
  resnet50,
  resnet101,
  resnet152,
  resnext50_32x4d,
  resnext101_32x8d,
  resnext101_64x4d,
  wideResnet50_2,
  wideResnet101_2,
  type ResNet,
  type ResNetBuilderOptions,
  type ResNetName,
} from '@residual/resnet';

// The one place where command-line strings become builder functions (style.md §3: string names
// belong only at the CLI boundary, mapped in one table). Everything past this file is typed.

/** `--arch` of `residual classify` → torchvision's ResNet builders. */
export const CLASSIFIERS: Readonly<Record<ResNetName, (options: ResNetBuilderOptions) => ResNet>> = {
  resnet18,
  resnet34,
  resnet50,
  resnet101,
  resnet152,
  resnext50_32x4d,
  resnext101_32x8d,
  resnext101_64x4d,
  wide_resnet50_2: wideResnet50_2,
  wide_resnet101_2: wideResnet101_2,
};

/** `--backbone` of `residual detect` / `train`: the ResNets a detector can be built on. */
export const BACKBONES: readonly ResNetName[] = Object.keys(CLASSIFIERS) as ResNetName[];

/** `--arch` of `residual detect` / `train`. */
export type DetectorArch = 'fasterrcnn' | 'maskrcnn';

/** What the CLI passes to a detector builder (camelCase torchvision options). */
export interface DetectorBuildOptions {
  /** Classes including background (from the weights file, or the annotation file + 1). */
  numClasses: number;
  minSize: number;
  maxSize: number;
  boxScoreThresh: number;
  /** torchvision's COCO_V1 weights need 0. */
  frozenBnEps: number;
}

/** One image's detections as `predict` returns them (caller disposes); masks [K,H,W] float for Mask R-CNN. */
export interface CliDetection {
  boxes: tf.Tensor2D;
  scores: tf.Tensor1D;
  labels: tf.Tensor1D;
  masks?: tf.Tensor3D;
}

/** What `detect` and `train` need from a built detector. */
export interface CliDetector extends Module {
  predict(images: tf.Tensor3D[]): Promise<CliDetection[]>;
}

/** Builds a detector of one `--arch` on a `--backbone`. */
export type DetectorBuilder = (backbone: ResNetName, options: DetectorBuildOptions) => CliDetector;

/**
 * `--arch` of `residual detect` / `train` → builders; `null` while the package has not landed.
 * TODO(issue 8): wire `fasterrcnn` to `fasterrcnnResnetFpn(backbone, options)` once
 * @residual/faster-rcnn exports it, and `maskrcnn` to `maskrcnnResnetFpn` of @residual/mask-rcnn.
 */
export const DETECTORS: Readonly<Record<DetectorArch, DetectorBuilder | null>> = {
  fasterrcnn: null,
  maskrcnn: null,
};

/** Names of the detector architectures, for flag validation and help. */
export const DETECTOR_ARCHS: readonly DetectorArch[] = Object.keys(DETECTORS) as DetectorArch[];

/** The builder of `arch`, or a ValueError (exit 1) saying it is not available yet. */
export function detectorBuilder(arch: DetectorArch, command: string): DetectorBuilder {
  const builder = DETECTORS[arch];
  if (builder === null) {
    const pkg = arch === 'fasterrcnn' ? '@residual/faster-rcnn' : '@residual/mask-rcnn';
    throw new ValueError(`--arch ${arch} is not available yet for ${command} (${pkg} does not export its builder in this version)`);
  }
  return builder;
}
