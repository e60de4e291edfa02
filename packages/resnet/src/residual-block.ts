import type * as tf from '@tensorflow/tfjs-core';
import type { Forward, Generator, Module } from '@residual/core';

/** A module mapping NHWC [N,H,W,C] to NHWC (a new tensor the caller owns; the input is kept). */
export type Layer4D = Module & Forward<tf.Tensor4D, tf.Tensor4D>;

/** A normalisation layer on NHWC maps: BatchNorm2d, FrozenBatchNorm2d or your own. */
export type NormLayer = Layer4D;

/**
 * Builds the normalisation layer for `numChannels` channels (torchvision's `norm_layer`), e.g.
 * `(c) => new FrozenBatchNorm2d(c)`. The default everywhere is `(c) => new BatchNorm2d(c)`.
 */
export type NormLayerFactory = (numChannels: number) => NormLayer;

/** A residual block: NHWC [N,H,W,inplanes] → [N,H/stride,W/stride,planes·expansion]; caller owns the result. */
export type ResidualBlock = Layer4D;

/** Arguments of a residual block (torchvision's BasicBlock/Bottleneck arguments, camelCase). */
export interface ResidualBlockOptions {
  /** Stride of the block's strided conv (conv1 in BasicBlock, conv2 in Bottleneck); default 1. */
  stride?: number;
  /** Projection of the shortcut (registered as `downsample`); default none (identity shortcut). */
  downsample?: Layer4D | null;
  /** Groups of the 3×3 conv (ResNeXt cardinality); default 1. */
  groups?: number;
  /** Width per group (torchvision's base_width); default 64. */
  baseWidth?: number;
  /** Dilation of the 3×3 conv; default 1. */
  dilation?: number;
  /** Default BatchNorm2d. */
  normLayer?: NormLayerFactory;
  /** Source of the layers' default init (default: the process-wide generator). */
  generator?: Generator;
}

/** A block class ResNet can stack: its constructor and its channel `expansion` (1 Basic, 4 Bottleneck). */
export interface ResidualBlockClass {
  readonly expansion: number;
  new (inplanes: number, planes: number, options?: ResidualBlockOptions): ResidualBlock;
}
