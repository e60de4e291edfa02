import type * as tf from '@tensorflow/tfjs-core';

/** Named NHWC feature maps in pyramid order, fine → coarse (e.g. '0','1','2','3','pool'). */
export type FeatureMaps = Map<string, tf.Tensor4D>;

/** Channels and stride (input pixels per output cell) of one feature map, as detectron2's ShapeSpec. */
export interface FeatureSpec {
  channels: number;
  stride: number;
}

/**
 * What a detector needs from a backbone (api-contract "Backbones"): `forward` maps images
 * [N,H,W,3] (NHWC float32) to {@link FeatureMaps} the caller owns, `outChannels` is the channel
 * count of every map, and `outputShape()` describes each map by name.
 */
export interface Backbone {
  readonly outChannels: number;
  forward(x: tf.Tensor4D): FeatureMaps;
  outputShape(): Record<string, FeatureSpec>;
}
