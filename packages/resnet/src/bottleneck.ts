import * as tf from '@tensorflow/tfjs-core';
import { BatchNorm2d, ReLU, type Conv2d, Module } from '@residual/core';
import type { Layer4D, NormLayer, ResidualBlockOptions } from './residual-block.js';
import { conv1x1, conv3x3 } from './resnet-convs.js';

/**
 * torchvision's Bottleneck (ResNet-50+; expansion 4), "ResNet v1.5": the stride sits on the 3×3 conv2.
 * width = ⌊planes·baseWidth/64⌋·groups; conv1 1×1 (inplanes→width) → bn1 → relu → conv2 3×3
 * (stride, groups, dilation) → bn2 → relu → conv3 1×1 (width→planes·4) → bn3, plus the shortcut, then
 * relu. Children: conv1, bn1, conv2, bn2, conv3, bn3, relu, downsample.
 */
export class Bottleneck extends Module {
  /** Output channels = planes · expansion. */
  static readonly expansion = 4;
  readonly conv1: Conv2d;
  readonly bn1: NormLayer;
  readonly conv2: Conv2d;
  readonly bn2: NormLayer;
  readonly conv3: Conv2d;
  readonly bn3: NormLayer;
  readonly relu: ReLU;
  readonly downsample: Layer4D | null;
  readonly stride: number;

  constructor(inplanes: number, planes: number, options: ResidualBlockOptions = {}) {
    super();
    const { stride = 1, groups = 1, baseWidth = 64, dilation = 1, generator } = options;
    const norm = options.normLayer ?? ((c: number) => new BatchNorm2d(c));
    const width = Math.floor(planes * (baseWidth / 64)) * groups;
    this.conv1 = this.registerModule('conv1', conv1x1(inplanes, width, { generator }));
    this.bn1 = this.registerModule('bn1', norm(width));
    this.conv2 = this.registerModule('conv2', conv3x3(width, width, { stride, groups, dilation, generator }));
    this.bn2 = this.registerModule('bn2', norm(width));
    this.conv3 = this.registerModule('conv3', conv1x1(width, planes * Bottleneck.expansion, { generator }));
    this.bn3 = this.registerModule('bn3', norm(planes * Bottleneck.expansion));
    this.relu = this.registerModule('relu', new ReLU());
    this.downsample = options.downsample ? this.registerModule('downsample', options.downsample) : null;
    this.stride = stride;
  }

  /** x [N,H,W,inplanes] → [N,H',W',planes·4]; caller owns the result, x is kept. */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      let out = this.relu.forward(this.bn1.forward(this.conv1.forward(x)));
      out = this.relu.forward(this.bn2.forward(this.conv2.forward(out)));
      out = this.bn3.forward(this.conv3.forward(out));
      const identity = this.downsample ? this.downsample.forward(x) : x;
      return this.relu.forward(tf.add(out, identity));
    });
  }
}
