import * as tf from '@tensorflow/tfjs-core';
import { BatchNorm2d, type Conv2d, Module, Sequential, subsample, type Generator } from '@residual/core';
import { conv1x1, conv3x3 } from './resnet-convs.js';

/**
 * Shortcut of a CIFAR block (He et al. 2015 §4.2): 'A' identity, and where the shape changes subsample
 * by the stride and zero-pad the new channels (no parameters); 'B' identity, and where the shape
 * changes a 1×1 conv + BN projection; 'none' no shortcut (the paper's plain nets).
 */
export type CifarShortcut = 'A' | 'B' | 'none';

/** Options of {@link CifarBasicBlock}. */
export interface CifarBasicBlockOptions {
  /** Default 1. */
  stride?: number;
  /** Default 'A'. */
  shortcut?: CifarShortcut;
  generator?: Generator;
}

/**
 * The two-3×3-conv block of the CIFAR ResNets, in the key layout of akamaster/pytorch_resnet_cifar10:
 * conv1, bn1, conv2, bn2 and, for an option-B projection, shortcut.0 (conv) / shortcut.1 (BN).
 */
export class CifarBasicBlock extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  /** Option-B projection, or null. */
  readonly shortcut: Sequential | null;
  readonly mode: CifarShortcut;
  readonly stride: number;
  /** Zero channels added before / after the input's for an option-A shortcut (0 when unchanged). */
  private readonly padChannels: [number, number];

  constructor(inPlanes: number, planes: number, options: CifarBasicBlockOptions = {}) {
    super();
    const { stride = 1, shortcut = 'A', generator } = options;
    this.conv1 = this.registerModule('conv1', conv3x3(inPlanes, planes, { stride, generator }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(planes));
    this.conv2 = this.registerModule('conv2', conv3x3(planes, planes, { generator }));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(planes));
    const changes = stride !== 1 || inPlanes !== planes;
    this.shortcut =
      shortcut === 'B' && changes
        ? this.registerModule('shortcut', new Sequential(conv1x1(inPlanes, planes, { stride, generator }), new BatchNorm2d(planes)))
        : null;
    // Option A pads symmetrically (16 → 32 adds 8 zero channels each side), as akamaster's planes // 4.
    const extra = shortcut === 'A' && changes ? planes - inPlanes : 0;
    this.padChannels = [Math.floor(extra / 2), extra - Math.floor(extra / 2)];
    this.mode = shortcut;
    this.stride = stride;
  }

  /** x [N,H,W,inPlanes] → [N,⌈H/s⌉,⌈W/s⌉,planes]; caller owns the result, x is kept. */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      let out = tf.relu(this.bn1.forward(this.conv1.forward(x)));
      out = this.bn2.forward(this.conv2.forward(out));
      if (this.mode === 'none') return tf.relu(out);
      return tf.relu(tf.add<tf.Tensor4D>(out, this.identity(x)));
    });
  }

  private identity(x: tf.Tensor4D): tf.Tensor4D {
    if (this.shortcut) return this.shortcut.forward(x);
    const [before, after] = this.padChannels;
    if (this.stride === 1 && before + after === 0) return x;
    return tf.tidy(() => tf.pad(subsample(x, this.stride), [[0, 0], [0, 0], [0, 0], [before, after]])); // x[:, ::s, ::s, :]
  }
}
