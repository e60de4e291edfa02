import type * as tf from '@tensorflow/tfjs-core';
import { Module, ShapeError, ValueError, formatShape, type Generator } from '@residual/core';
import type { ExtraFpnBlock } from './extra-fpn-block.js';
import type { Backbone, FeatureMaps, FeatureSpec } from './feature-maps.js';
import { FeaturePyramidNetwork } from './feature-pyramid-network.js';
import { IntermediateLayerGetter } from './intermediate-layer-getter.js';
import { LastLevelMaxPool } from './last-level-max-pool.js';

/** A body whose children can report their output strides (ResNet's `outputShape()`). */
interface WithOutputShape {
  outputShape(): Record<string, FeatureSpec>;
}

function hasOutputShape(m: object): m is WithOutputShape {
  return typeof (m as Partial<WithOutputShape>).outputShape === 'function';
}

/**
 * torchvision's `BackboneWithFPN`: `body` = {@link IntermediateLayerGetter}(model, returnLayers),
 * `fpn` = {@link FeaturePyramidNetwork}(inChannelsList, outChannels, extraBlocks ?? LastLevelMaxPool).
 * State-dict keys `body.*` and `fpn.*`. Implements {@link Backbone}: `forward` gives the FPN maps
 * named by `returnLayers`' values, then the extra block's names ('0','1','2','3','pool').
 * The kept children of `model` are shared with it (dispose one of the two).
 */
export class BackboneWithFPN extends Module implements Backbone {
  readonly body: IntermediateLayerGetter;
  readonly fpn: FeaturePyramidNetwork;
  readonly outChannels: number;
  private readonly strides: number[] | null;

  /**
   * @param model e.g. a ResNet; its children run in order up to the last returned layer.
   * @param returnLayers child name → output name, e.g. `{ layer1: '0', layer2: '1', … }`.
   * @param inChannelsList channels of each returned layer, in order.
   * @param outChannels FPN width.
   * @param extraBlocks default `new LastLevelMaxPool()`.
   * @param options `generator`: source of the FPN's random init (default: the process-wide generator).
   */
  constructor(
    model: Module,
    returnLayers: Readonly<Record<string, string>>,
    inChannelsList: readonly number[],
    outChannels: number,
    extraBlocks?: ExtraFpnBlock | null,
    options: { generator?: Generator } = {},
  ) {
    super();
    this.body = this.registerModule('body', new IntermediateLayerGetter(model, returnLayers));
    if (inChannelsList.length !== this.body.returnLayers.size) {
      throw new ValueError(
        `BackboneWithFPN: inChannelsList must have one entry per returned layer (${this.body.returnLayers.size}), got ${inChannelsList.length}`,
      );
    }
    this.fpn = this.registerModule(
      'fpn',
      new FeaturePyramidNetwork({
        inChannelsList,
        outChannels,
        extraBlocks: extraBlocks ?? new LastLevelMaxPool(),
        generator: options.generator,
      }),
    );
    this.outChannels = outChannels;
    const shapes = hasOutputShape(model) ? model.outputShape() : null;
    this.strides = shapes ? [...this.body.returnLayers.keys()].map((k) => shapes[k]?.stride ?? NaN) : null;
  }

  /** Pyramid maps for images x [N,H,W,3] (NHWC float32), fine → coarse; caller owns them, x is kept. */
  forward(x: tf.Tensor4D): FeatureMaps {
    if (x.rank !== 4) throw new ShapeError(`BackboneWithFPN.forward: x must be NHWC [N,H,W,C], got ${formatShape(x.shape)}`);
    const features = this.body.forward(x);
    try {
      return this.fpn.forward(features);
    } finally {
      for (const t of features.values()) t.dispose();
    }
  }

  /**
   * Channels and nominal stride of each output map; extra maps double the stride level by level.
   * Needs a body model with `outputShape()` (ResNet has one); throws ValueError otherwise.
   */
  outputShape(): Record<string, FeatureSpec> {
    if (!this.strides || this.strides.some((s) => Number.isNaN(s))) {
      throw new ValueError('BackboneWithFPN.outputShape: the body model does not report strides (no outputShape())');
    }
    const names = this.fpn.outputNames([...this.body.returnLayers.values()]);
    const extra = this.fpn.extraBlocks;
    const base = this.strides.length;
    const last = this.strides[base - 1];
    const out: Record<string, FeatureSpec> = {};
    names.forEach((name, i) => {
      const isExtra = i >= base;
      out[name] = {
        channels: isExtra && extra ? extra.outChannels(this.outChannels) : this.outChannels,
        stride: isExtra ? last * 2 ** (i - base + 1) : this.strides![i],
      };
    });
    return out;
  }
}
