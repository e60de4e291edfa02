import * as tf from '@tensorflow/tfjs-core';
import { Conv2d, ConvTranspose2d, Module, ReLU, ShapeError, ValueError, formatShape, kaimingNormal, type Generator } from '@residual/core';

/**
 * torchvision's `MaskRCNNPredictor(in_channels, dim_reduced, num_classes)`: `conv5_mask` ConvTranspose2d
 * (in → dimReduced, kernel 2, stride 2) → ReLU → `mask_fcn_logits` 1×1 conv (dimReduced → numClasses).
 * Keys `conv5_mask.{weight [in,dimReduced,2,2] torch layout, bias}`, `mask_fcn_logits.{weight, bias}`.
 * Init as torchvision: every weight kaiming_normal (fan_out, relu; the transposed conv's fan_out is
 * in·2·2), biases keep the default U(±1/√fanIn).
 */
export class MaskRCNNPredictor extends Module {
  readonly numClasses: number;
  readonly conv5Mask: ConvTranspose2d;
  readonly relu: ReLU;
  readonly maskFcnLogits: Conv2d;

  constructor(inChannels: number, dimReduced: number, numClasses: number, options: { generator?: Generator } = {}) {
    super();
    for (const [name, v] of [['inChannels', inChannels], ['dimReduced', dimReduced], ['numClasses', numClasses]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new ValueError(`MaskRCNNPredictor: ${name} must be a positive integer, got ${v}`);
    }
    const { generator } = options;
    this.numClasses = numClasses;
    this.conv5Mask = this.registerModule('conv5_mask', new ConvTranspose2d(inChannels, dimReduced, 2, { stride: 2, generator }));
    this.relu = this.registerModule('relu', new ReLU());
    this.maskFcnLogits = this.registerModule('mask_fcn_logits', new Conv2d(dimReduced, numClasses, 1, { generator }));
    for (const conv of [this.conv5Mask, this.maskFcnLogits]) {
      conv.initParameter('weight', (s) => kaimingNormal(s, { mode: 'fan_out', nonlinearity: 'relu' }, generator));
    }
  }

  /** Mask features x [R,P,P,in] (NHWC) → mask logits [R,2P,2P,numClasses] (class on the last axis); caller owns. */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    if (x.rank !== 4 || x.shape[3] !== this.conv5Mask.inChannels) {
      throw new ShapeError(`MaskRCNNPredictor.forward: x must be [R,P,P,${this.conv5Mask.inChannels}], got ${formatShape(x.shape)}`);
    }
    return tf.tidy(() => this.maskFcnLogits.forward(this.relu.forward(this.conv5Mask.forward(x))));
  }
}
