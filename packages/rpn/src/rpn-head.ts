import * as tf from '@tensorflow/tfjs-core';
import { Conv2d, Module, ReLU, Sequential, ValueError, defaultGenerator, normal, zeros, type Generator } from '@residual/core';

/** Outputs of {@link RPNHead.forward}, one NHWC map per level (caller owns all). */
export interface RPNHeadOutput {
  /** Objectness logits [N,H,W,A] per level. */
  logits: tf.Tensor4D[];
  /** Box deltas [N,H,W,4A] per level, channel a·4 + k for anchor a and k = dx, dy, dw, dh. */
  bboxReg: tf.Tensor4D[];
}

/**
 * torchvision 0.14's `RPNHead`: `convDepth` × (3×3 conv pad 1 + ReLU) shared over levels, then
 * `cls_logits` (1×1, C → A) and `bbox_pred` (1×1, C → 4A). Keys `conv.<i>.0.*`, `cls_logits.*`,
 * `bbox_pred.*`; every conv weight N(0, 0.01²), bias 0.
 */
export class RPNHead extends Module {
  readonly conv: Sequential;
  readonly clsLogits: Conv2d;
  readonly bboxPred: Conv2d;
  readonly numAnchors: number;

  constructor(inChannels: number, numAnchors: number, convDepth = 1, options: { generator?: Generator } = {}) {
    super();
    for (const [name, v] of [['inChannels', inChannels], ['numAnchors', numAnchors], ['convDepth', convDepth]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new ValueError(`RPNHead: ${name} must be a positive integer, got ${v}`);
    }
    const gen = options.generator ?? defaultGenerator();
    const convs = Array.from(
      { length: convDepth },
      () => new Sequential(new Conv2d(inChannels, inChannels, 3, { padding: 1, generator: gen }), new ReLU()),
    );
    this.conv = this.registerModule('conv', new Sequential(...convs));
    this.clsLogits = this.registerModule('cls_logits', new Conv2d(inChannels, numAnchors, 1, { generator: gen }));
    this.bboxPred = this.registerModule('bbox_pred', new Conv2d(inChannels, numAnchors * 4, 1, { generator: gen }));
    this.numAnchors = numAnchors;
    for (const m of this.namedModules().values()) {
      if (m instanceof Conv2d) {
        m.initParameter('weight', (s) => normal(s, { std: 0.01 }, gen));
        m.initParameter('bias', zeros);
      }
    }
  }

  /** Logits and deltas for each level of `features` (NHWC [N,H,W,C]); caller owns every output. */
  forward(features: readonly tf.Tensor4D[]): RPNHeadOutput {
    const out = tf.tidy(() =>
      features.map((f) => {
        const t = this.conv.forward(f);
        return [this.clsLogits.forward(t), this.bboxPred.forward(t)];
      }),
    );
    return { logits: out.map((o) => o[0]), bboxReg: out.map((o) => o[1]) };
  }
}
