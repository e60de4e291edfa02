import * as tf from '@tensorflow/tfjs-core';
import { Linear, Module, ShapeError, formatShape, type Generator } from '@residual/core';

/**
 * torchvision's `TwoMLPHead(in_channels, representation_size)`: flatten → `fc6` → ReLU → `fc7` → ReLU.
 * Keys `fc6.{weight,bias}`, `fc7.{weight,bias}`; default Linear init. Pooled NHWC features are
 * flattened in torch's C,H,W order so that torch weights apply unchanged.
 */
export class TwoMLPHead extends Module {
  readonly fc6: Linear;
  readonly fc7: Linear;

  /** @param inChannels flattened input size, C·P·P (256·7·7 for the FPN box head). */
  constructor(inChannels: number, representationSize: number, options: { generator?: Generator } = {}) {
    super();
    this.fc6 = this.registerModule('fc6', new Linear(inChannels, representationSize, options));
    this.fc7 = this.registerModule('fc7', new Linear(representationSize, representationSize, options));
  }

  /** x [R,P,P,C] (NHWC pooled features) or [R,F] → [R,representationSize]; caller owns the result. */
  forward(x: tf.Tensor): tf.Tensor2D {
    // Features per row from the trailing dims, so that zero proposals ([0,P,P,C]) pass as in torchvision.
    const features = x.shape.slice(1).reduce((a, b) => a * b, 1);
    if ((x.rank !== 4 && x.rank !== 2) || features !== this.fc6.inFeatures) {
      throw new ShapeError(`TwoMLPHead.forward: x must be [R,P,P,C] or [R,F] with ${this.fc6.inFeatures} features per row, got ${formatShape(x.shape)}`);
    }
    return tf.tidy(() => {
      // [R,C,P,P]: torch's flatten order (wasm's Transpose crashes on an empty tensor; nothing to reorder then)
      const nchw = x.rank === 4 && x.shape[0] > 0 ? tf.transpose(x, [0, 3, 1, 2]) : x;
      const flat = tf.reshape(nchw, [x.shape[0], this.fc6.inFeatures]); // [R, C·P·P]
      return tf.relu(this.fc7.forward(tf.relu(this.fc6.forward(flat)))) as tf.Tensor2D;
    });
  }
}
