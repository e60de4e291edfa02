import * as tf from '@tensorflow/tfjs-core';
import { BatchNorm2d, ReLU, ValueError, type Conv2d, Module } from '@residual/core';
import type { Layer4D, NormLayer, ResidualBlockOptions } from './residual-block.js';
import { conv3x3 } from './resnet-convs.js';

/**
 * torchvision's BasicBlock (ResNet-18/34; expansion 1): conv3x3(stride) → bn1 → relu → conv3x3 → bn2,
 * plus the shortcut (identity or `downsample`), then relu. Children: conv1, bn1, relu, conv2, bn2,
 * downsample. Only groups 1, baseWidth 64 and dilation 1 exist for it, as in torchvision.
 */
export class BasicBlock extends Module {
  /** Output channels = planes · expansion. */
  static readonly expansion = 1;
  readonly conv1: Conv2d;
  readonly bn1: NormLayer;
  readonly relu: ReLU;
  readonly conv2: Conv2d;
  readonly bn2: NormLayer;
  readonly downsample: Layer4D | null;
  readonly stride: number;

  constructor(inplanes: number, planes: number, options: ResidualBlockOptions = {}) {
    super();
    const { stride = 1, groups = 1, baseWidth = 64, dilation = 1, generator } = options;
    if (groups !== 1 || baseWidth !== 64) {
      throw new ValueError(`BasicBlock: only supports groups 1 and baseWidth 64, got groups ${groups}, baseWidth ${baseWidth}`);
    }
    if (dilation > 1) throw new ValueError(`BasicBlock: dilation > 1 is not supported, got ${dilation}`);
    const norm = options.normLayer ?? ((c: number) => new BatchNorm2d(c));
    this.conv1 = this.registerModule('conv1', conv3x3(inplanes, planes, { stride, generator }));
    this.bn1 = this.registerModule('bn1', norm(planes));
    this.relu = this.registerModule('relu', new ReLU());
    this.conv2 = this.registerModule('conv2', conv3x3(planes, planes, { generator }));
    this.bn2 = this.registerModule('bn2', norm(planes));
    this.downsample = options.downsample ? this.registerModule('downsample', options.downsample) : null;
    this.stride = stride;
  }

  /** x [N,H,W,inplanes] → [N,H',W',planes]; caller owns the result, x is kept. */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      let out = this.relu.forward(this.bn1.forward(this.conv1.forward(x)));
      out = this.bn2.forward(this.conv2.forward(out));
      const identity = this.downsample ? this.downsample.forward(x) : x;
      return this.relu.forward(tf.add(out, identity));
    });
  }
}
