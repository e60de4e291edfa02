import * as tf from '@tensorflow/tfjs-core';
import { Module, ValueError, type Forward } from '@residual/core';
import type { FeatureMaps } from './feature-maps.js';

/** A child the getter can run: NHWC in, NHWC out. */
type Stage = Module & Forward<tf.Tensor4D, tf.Tensor4D>;

/**
 * torchvision's `IntermediateLayerGetter`: re-registers `model`'s direct children in order, under
 * their own names, up to the last one named in `returnLayers`, and runs them in sequence. `forward`
 * returns the outputs of the children named in `returnLayers`, under the new names, in the
 * children's order. Children after the last returned one (avgpool, fc) are not part of it.
 *
 * The kept children are shared with `model` (same variables): dispose the getter or the model,
 * not both.
 */
export class IntermediateLayerGetter extends Module {
  /** Child name → output name, in the children's order. */
  readonly returnLayers: ReadonlyMap<string, string>;
  private readonly stages: Array<[string, Stage]> = [];

  constructor(model: Module, returnLayers: Readonly<Record<string, string>>) {
    super();
    const children = model.children();
    const missing = Object.keys(returnLayers).filter((k) => !children.has(k));
    if (missing.length > 0 || Object.keys(returnLayers).length === 0) {
      throw new ValueError(
        `IntermediateLayerGetter: returnLayers must name children of the model (${[...children.keys()].join(', ')}), got ${
          missing.length ? missing.join(', ') : 'none'
        }`,
      );
    }
    const remaining = new Set(Object.keys(returnLayers));
    const order: Array<[string, string]> = [];
    for (const [name, child] of children) {
      this.stages.push([name, this.registerModule(name, child as Stage)]);
      if (remaining.delete(name)) order.push([name, returnLayers[name]]);
      if (remaining.size === 0) break;
    }
    this.returnLayers = new Map(order);
  }

  /** The returned children's outputs for x [N,H,W,C] (NHWC), by output name; caller owns them. */
  forward(x: tf.Tensor4D): FeatureMaps {
    const outputs = tf.tidy(() => {
      const kept: tf.Tensor4D[] = [];
      let h = x;
      for (const [name, stage] of this.stages) {
        h = stage.forward(h);
        if (this.returnLayers.has(name)) kept.push(h);
      }
      return kept;
    });
    return new Map([...this.returnLayers.values()].map((name, i) => [name, outputs[i]]));
  }
}
