import * as tf from '@tensorflow/tfjs-core';
import { Conv2d, Module, defaultGenerator, kaimingUniform, zeros, type Generator } from '@residual/core';
import type { ExtraFpnBlock } from './extra-fpn-block.js';

/**
 * torchvision's `LastLevelP6P7` (RetinaNet): p6 = conv3×3/2(x), p7 = conv3×3/2(relu(p6)), where x is
 * the coarsest FPN output P5 when `inChannels === outChannels` (torchvision's `use_P5`), else the
 * coarsest FPN input C5. Keys `p6.weight`, `p6.bias`, `p7.weight`, `p7.bias`; weights
 * kaiming_uniform(a=1), biases 0.
 */
export class LastLevelP6P7 extends Module implements ExtraFpnBlock {
  readonly names = ['p6', 'p7'] as const;
  readonly p6: Conv2d;
  readonly p7: Conv2d;
  /** True when P5 feeds p6 (inChannels === outChannels), else C5. */
  readonly useP5: boolean;
  private readonly out: number;

  constructor(inChannels: number, outChannels: number, options: { generator?: Generator } = {}) {
    super();
    const gen = options.generator ?? defaultGenerator();
    this.p6 = this.registerModule('p6', new Conv2d(inChannels, outChannels, 3, { stride: 2, padding: 1, generator: gen }));
    this.p7 = this.registerModule('p7', new Conv2d(outChannels, outChannels, 3, { stride: 2, padding: 1, generator: gen }));
    for (const conv of [this.p6, this.p7]) {
      conv.initParameter('weight', (s) => kaimingUniform(s, { a: 1 }, gen));
      conv.initParameter('bias', zeros);
    }
    this.useP5 = inChannels === outChannels;
    this.out = outChannels;
  }

  /** p6 and p7 have `outChannels` channels, whatever the FPN's width. */
  outChannels(): number {
    return this.out;
  }

  /** [p6, p7] (NHWC, strides 2× and 4× the last level); caller owns both. */
  forward(p: readonly tf.Tensor4D[], c: readonly tf.Tensor4D[]): tf.Tensor4D[] {
    const x = this.useP5 ? p[p.length - 1] : c[c.length - 1];
    const p6 = this.p6.forward(x);
    const p7 = tf.tidy(() => this.p7.forward(tf.relu(p6)));
    return [p6, p7];
  }
}
