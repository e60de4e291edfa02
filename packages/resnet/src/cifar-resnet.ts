import * as tf from '@tensorflow/tfjs-core';
import {
  BatchNorm2d,
  Conv2d,
  Linear,
  Module,
  Sequential,
  ValueError,
  defaultGenerator,
  kaimingNormal,
  type Generator,
} from '@residual/core';
import { assertImages } from './check-images.js';
import { CifarBasicBlock, type CifarShortcut } from './cifar-block.js';
import { conv3x3 } from './resnet-convs.js';

/** Options of {@link cifarResnet}. */
export interface CifarResNetOptions {
  /** Projection type where the shape changes (paper §4.2 uses 'A'); default 'A'. */
  shortcut?: 'A' | 'B';
  /** Default 10. */
  numClasses?: number;
  /** The plain counterpart: the same layers without any shortcut; default false. */
  plain?: boolean;
  /** Source of the random init (default: the process-wide generator). */
  generator?: Generator;
}

/**
 * The CIFAR-10 ResNets of He et al. 2015 §4.2 (depth 6n+2): 3×3 conv 16 → bn1 → relu → three stages
 * of n blocks with 16, 32, 64 filters (the first block of stages 2 and 3 has stride 2) → global average
 * pool → linear. No torchvision reference exists; state-dict keys follow the widely used
 * akamaster/pytorch_resnet_cifar10: conv1, bn1, layer1..layer3 (blocks "0","1",…: conv1, bn1, conv2,
 * bn2, shortcut.0/.1 for option B), linear. Init as there: He normal (fan_in) for conv and linear
 * weights, torch's default for the linear bias.
 */
export class CifarResNet extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly layer1: Sequential;
  readonly layer2: Sequential;
  readonly layer3: Sequential;
  readonly linear: Linear;
  /** Blocks per stage (n in depth = 6n+2). */
  readonly blocksPerStage: number;

  constructor(blocksPerStage: number, shortcut: CifarShortcut, options: { numClasses?: number; generator?: Generator } = {}) {
    super();
    const { numClasses = 10 } = options;
    if (!Number.isInteger(blocksPerStage) || blocksPerStage < 1) {
      throw new ValueError(`CifarResNet: blocksPerStage must be a positive integer, got ${blocksPerStage}`);
    }
    if (!Number.isInteger(numClasses) || numClasses < 1) {
      throw new ValueError(`CifarResNet: numClasses must be a positive integer, got ${numClasses}`);
    }
    const gen = options.generator ?? defaultGenerator();
    this.blocksPerStage = blocksPerStage;
    this.conv1 = this.registerModule('conv1', conv3x3(3, 16, { generator: gen }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(16));
    let inPlanes = 16;
    const stages = [16, 32, 64].map((planes, i) => {
      const blocks = Array.from({ length: blocksPerStage }, (_, j) => {
        const block = new CifarBasicBlock(inPlanes, planes, { stride: i > 0 && j === 0 ? 2 : 1, shortcut, generator: gen });
        inPlanes = planes;
        return block;
      });
      return this.registerModule(`layer${i + 1}`, new Sequential(...blocks));
    });
    [this.layer1, this.layer2, this.layer3] = stages;
    this.linear = this.registerModule('linear', new Linear(64, numClasses, { generator: gen }));
    for (const m of this.namedModules().values()) {
      if (m instanceof Conv2d || m instanceof Linear) {
        m.initParameter('weight', (s) => kaimingNormal(s, {}, gen)); // torch defaults: fan_in, gain √2
      }
    }
  }

  /** Logits [N, numClasses] for images x [N,H,W,3] (float32 NHWC); caller owns the result, x is kept. */
  forward(x: tf.Tensor4D): tf.Tensor2D {
    assertImages(x, 'CifarResNet.forward');
    return tf.tidy(() => {
      const stem = tf.relu(this.bn1.forward(this.conv1.forward(x)));
      const h = this.layer3.forward(this.layer2.forward(this.layer1.forward(stem)));
      return this.linear.forward(tf.mean(h, [1, 2]) as tf.Tensor2D); // global average pool → [N,64]
    });
  }
}

/**
 * Builds the CIFAR ResNet of depth 6n+2 (20, 32, 44, 56, 110, 1202 in the paper), or with `plain` its
 * plain counterpart (no shortcuts), for the degradation experiment. Throws ValueError for other depths.
 */
export function cifarResnet(depth: number, options: CifarResNetOptions = {}): CifarResNet {
  if (!Number.isInteger(depth) || depth < 8 || (depth - 2) % 6 !== 0) {
    throw new ValueError(`cifarResnet: depth must be 6n+2 with n >= 1 (8, 20, 32, 44, 56, 110, 1202, …), got ${depth}`);
  }
  const shortcut = options.shortcut ?? 'A';
  if (shortcut !== 'A' && shortcut !== 'B') {
    throw new ValueError(`cifarResnet: shortcut must be 'A' or 'B', got ${String(shortcut)}`);
  }
  return new CifarResNet((depth - 2) / 6, options.plain ? 'none' : shortcut, {
    numClasses: options.numClasses,
    generator: options.generator,
  });
}
