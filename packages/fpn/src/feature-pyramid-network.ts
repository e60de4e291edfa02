import * as tf from '@tensorflow/tfjs-core';
import {
  Conv2d,
  Module,
  ModuleList,
  Sequential,
  ShapeError,
  ValueError,
  defaultGenerator,
  formatShape,
  kaimingUniform,
  zeros,
  type Generator,
} from '@residual/core';
import type { ExtraFpnBlock } from './extra-fpn-block.js';
import type { FeatureMaps } from './feature-maps.js';
import { upsampleNearest } from './nearest-upsample.js';

/** Options of {@link FeaturePyramidNetwork} (torchvision's arguments, camelCase). */
export interface FeaturePyramidNetworkOptions {
  /** Channels of each input map, fine → coarse. */
  inChannelsList: readonly number[];
  /** Channels of every output map (256 in torchvision's detectors). */
  outChannels: number;
  /** Extra coarser maps after the pyramid (LastLevelMaxPool, LastLevelP6P7); default none. */
  extraBlocks?: ExtraFpnBlock | null;
  /** Source of the random init (default: the process-wide generator). */
  generator?: Generator;
}

/**
 * torchvision 0.14's `FeaturePyramidNetwork` on NHWC maps. Per input level i: `inner_blocks.i.0`
 * (1×1 conv in_i → out, bias) and `layer_blocks.i.0` (3×3 conv pad 1, out → out, bias); the extra
 * block is registered as `extra_blocks`. Init: every conv kaiming_uniform(a=1), bias 0.
 */
export class FeaturePyramidNetwork extends Module {
  readonly inChannelsList: readonly number[];
  readonly outChannels: number;
  readonly innerBlocks: ModuleList<Sequential>;
  readonly layerBlocks: ModuleList<Sequential>;
  readonly extraBlocks: ExtraFpnBlock | null;

  constructor(options: FeaturePyramidNetworkOptions) {
    super();
    const { inChannelsList, outChannels } = options;
    if (inChannelsList.length === 0 || inChannelsList.some((c) => !Number.isInteger(c) || c < 1)) {
      throw new ValueError(
        `FeaturePyramidNetwork: inChannelsList must be positive integers (one per level), got [${inChannelsList.join(',')}]`,
      );
    }
    if (!Number.isInteger(outChannels) || outChannels < 1) {
      throw new ValueError(`FeaturePyramidNetwork: outChannels must be a positive integer, got ${outChannels}`);
    }
    const gen = options.generator ?? defaultGenerator();
    this.inChannelsList = [...inChannelsList];
    this.outChannels = outChannels;
    // Conv2dNormActivation without norm or activation = Sequential(conv): keys `.i.0.weight`.
    this.innerBlocks = this.registerModule(
      'inner_blocks',
      new ModuleList(inChannelsList.map((c) => new Sequential(new Conv2d(c, outChannels, 1, { generator: gen })))),
    );
    this.layerBlocks = this.registerModule(
      'layer_blocks',
      new ModuleList(inChannelsList.map(() => new Sequential(new Conv2d(outChannels, outChannels, 3, { padding: 1, generator: gen })))),
    );
    for (const block of [...this.innerBlocks, ...this.layerBlocks]) {
      const conv = block.get(0) as Conv2d;
      conv.initParameter('weight', (s) => kaimingUniform(s, { a: 1 }, gen));
      conv.initParameter('bias', zeros);
    }
    this.extraBlocks = options.extraBlocks ? this.registerModule('extra_blocks', options.extraBlocks) : null;
  }

  /** Output names for input names (fine → coarse): the input names, then the extra block's. */
  outputNames(inputNames: readonly string[]): string[] {
    return [...inputNames, ...(this.extraBlocks?.names ?? [])];
  }

  /**
   * The pyramid for `x` (NHWC maps fine → coarse, one per `inChannelsList` entry, names kept):
   * `last = inner[-1](C_last)`, then for each finer level `last = inner[i](C_i) + nearest(last)` and
   * `P_i = layer[i](last)`; then the extra block's maps. Every output has `outChannels` channels
   * (extra maps: the block's). New tensors in a new Map, caller owns them; `x` is kept.
   */
  forward(x: FeatureMaps): FeatureMaps {
    const names = [...x.keys()];
    const inputs = [...x.values()];
    this.checkInputs(inputs);
    const outputs = tf.tidy(() => {
      const n = inputs.length;
      let last = this.innerBlocks.get(n - 1).forward(inputs[n - 1]);
      const results = [this.layerBlocks.get(n - 1).forward(last)];
      for (let i = n - 2; i >= 0; i--) {
        const lateral = this.innerBlocks.get(i).forward(inputs[i]);
        const topDown = upsampleNearest(last, [lateral.shape[1], lateral.shape[2]]);
        last = tf.add(lateral, topDown);
        results.unshift(this.layerBlocks.get(i).forward(last));
      }
      return this.extraBlocks ? [...results, ...this.extraBlocks.forward(results, inputs)] : results;
    });
    const outNames = this.outputNames(names);
    return new Map(outNames.map((name, i) => [name, outputs[i]]));
  }

  private checkInputs(inputs: tf.Tensor4D[]): void {
    if (inputs.length !== this.inChannelsList.length) {
      throw new ShapeError(
        `FeaturePyramidNetwork.forward: x must hold ${this.inChannelsList.length} maps (one per inChannelsList entry), got ${inputs.length}`,
      );
    }
    inputs.forEach((t, i) => {
      const c = this.inChannelsList[i];
      if (t.rank !== 4 || t.shape[3] !== c || t.shape[0] !== inputs[0].shape[0]) {
        throw new ShapeError(
          `FeaturePyramidNetwork.forward: map ${i} must be NHWC [${inputs[0].shape[0]},H,W,${c}], got ${formatShape(t.shape)}`,
        );
      }
    });
  }
}
