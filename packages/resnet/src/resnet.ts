import * as tf from '@tensorflow/tfjs-core';
import {
  AdaptiveAvgPool2d,
  BatchNorm,
  BatchNorm2d,
  Conv2d,
  Linear,
  MaxPool2d,
  Module,
  ReLU,
  Sequential,
  ValueError,
  defaultGenerator,
  kaimingNormal,
  ones,
  zeros,
  type Generator,
} from '@residual/core';
import { BasicBlock } from './basic-block.js';
import { Bottleneck } from './bottleneck.js';
import { assertImages } from './check-images.js';
import type { NormLayer, NormLayerFactory, ResidualBlockClass } from './residual-block.js';
import { conv1x1 } from './resnet-convs.js';

/** Options of {@link ResNet} (torchvision's ResNet arguments, camelCase). */
export interface ResNetOptions {
  /** Classifier outputs (fc); default 1000. */
  numClasses?: number;
  /** Zero the last norm weight of every BasicBlock/Bottleneck so each starts as identity; default false. */
  zeroInitResidual?: boolean;
  /** Groups of each Bottleneck's 3×3 conv (ResNeXt); default 1. */
  groups?: number;
  /** Bottleneck width per group; default 64 (128 for Wide ResNets). */
  widthPerGroup?: number;
  /** For layer2..layer4: replace the stage's stride 2 by dilation; default [false, false, false]. */
  replaceStrideWithDilation?: [boolean, boolean, boolean];
  /** Default `(c) => new BatchNorm2d(c)`; FrozenBatchNorm2d for detection backbones. */
  normLayer?: NormLayerFactory;
  /** Source of the random init (default: the process-wide generator). */
  generator?: Generator;
}

/** Names of the four stages, fine → coarse. */
export type ResNetStage = 'layer1' | 'layer2' | 'layer3' | 'layer4';

/** Outputs of {@link ResNet.forwardFeatures}: NHWC maps per stage (caller owns all four). */
export type ResNetFeatures = Record<ResNetStage, tf.Tensor4D>;

/** Channels and stride (input pixels per output cell) of a feature map, as detectron2's ShapeSpec. */
export interface FeatureShape {
  channels: number;
  stride: number;
}

const STAGES: ResNetStage[] = ['layer1', 'layer2', 'layer3', 'layer4'];

/**
 * torchvision 0.14's ResNet on NHWC images: conv1 7×7/2 → bn1 → relu → maxpool 3×3/2 → layer1..layer4
 * (Sequentials of blocks "0","1",…) → avgpool → fc. State-dict keys and init are torchvision's: convs
 * He normal (fan_out, relu), norm weights 1 and biases 0, fc torch's default Linear init.
 */
export class ResNet extends Module {
  readonly conv1: Conv2d;
  readonly bn1: NormLayer;
  readonly relu: ReLU;
  readonly maxpool: MaxPool2d;
  readonly layer1: Sequential;
  readonly layer2: Sequential;
  readonly layer3: Sequential;
  readonly layer4: Sequential;
  readonly avgpool: AdaptiveAvgPool2d;
  readonly fc: Linear;
  /** Channels out of layer4 (torchvision's final `inplanes`: 512 Basic, 2048 Bottleneck). */
  readonly inplanes: number;
  private readonly shapes: Record<ResNetStage, FeatureShape>;

  constructor(block: ResidualBlockClass, layers: readonly number[], options: ResNetOptions = {}) {
    super();
    const { numClasses = 1000, groups = 1, widthPerGroup = 64 } = options;
    const dilate = options.replaceStrideWithDilation ?? [false, false, false];
    checkArguments(layers, dilate, numClasses);
    const gen = options.generator ?? defaultGenerator();
    const norm = options.normLayer ?? ((c: number) => new BatchNorm2d(c));

    // Stem: 7×7/2 conv, then 3×3/2 max pool → stride 4.
    this.conv1 = this.registerModule('conv1', new Conv2d(3, 64, 7, { stride: 2, padding: 3, bias: false, generator: gen }));
    this.bn1 = this.registerModule('bn1', norm(64));
    this.relu = this.registerModule('relu', new ReLU());
    this.maxpool = this.registerModule('maxpool', new MaxPool2d(3, { stride: 2, padding: 1 }));

    // Stages (torchvision's _make_layer with a running inplanes and dilation).
    let inplanes = 64;
    let dilation = 1;
    let stride = 4;
    const shapes: Partial<Record<ResNetStage, FeatureShape>> = {};
    const stages = STAGES.map((name, i) => {
      const planes = 64 * 2 ** i;
      let s = i === 0 ? 1 : 2;
      const previousDilation = dilation;
      if (i > 0 && dilate[i - 1]) {
        dilation *= s;
        s = 1;
      }
      const downsample =
        s !== 1 || inplanes !== planes * block.expansion
          ? new Sequential(conv1x1(inplanes, planes * block.expansion, { stride: s, generator: gen }), norm(planes * block.expansion))
          : null;
      const common = { groups, baseWidth: widthPerGroup, normLayer: norm, generator: gen };
      const blocks = [new block(inplanes, planes, { ...common, stride: s, downsample, dilation: previousDilation })];
      inplanes = planes * block.expansion;
      for (let b = 1; b < layers[i]; b++) blocks.push(new block(inplanes, planes, { ...common, dilation }));
      stride *= s;
      shapes[name] = { channels: inplanes, stride };
      return this.registerModule(name, new Sequential(...blocks));
    });
    [this.layer1, this.layer2, this.layer3, this.layer4] = stages;
    this.inplanes = inplanes;
    this.shapes = shapes as Record<ResNetStage, FeatureShape>;

    // Head: global average pool → fc.
    this.avgpool = this.registerModule('avgpool', new AdaptiveAvgPool2d(1));
    this.fc = this.registerModule('fc', new Linear(inplanes, numClasses, { generator: gen }));
    this.initWeights(gen, options.zeroInitResidual ?? false);
  }

  // torchvision ResNet.__init__'s init loop, then zero_init_residual.
  private initWeights(gen: Generator, zeroInitResidual: boolean): void {
    for (const m of this.namedModules().values()) {
      if (m instanceof Conv2d) {
        m.initParameter('weight', (s) => kaimingNormal(s, { mode: 'fan_out', nonlinearity: 'relu' }, gen));
      } else if (m instanceof BatchNorm && m.affine) {
        m.initParameter('weight', ones);
        m.initParameter('bias', zeros);
      }
    }
    if (!zeroInitResidual) return;
    for (const m of this.namedModules().values()) {
      const last = m instanceof Bottleneck ? m.bn3 : m instanceof BasicBlock ? m.bn2 : null;
      // torchvision skips norm layers without a weight (`if m.bn3.weight is not None`).
      if (last && (last.namedParameters().has('weight') || last.namedBuffers().has('weight'))) {
        last.initParameter('weight', zeros);
      }
    }
  }

  /** Channels and stride of each stage's output, e.g. resnet50: layer1 {256, 4} … layer4 {2048, 32}. */
  outputShape(): Record<ResNetStage, FeatureShape> {
    return Object.fromEntries(STAGES.map((k) => [k, { ...this.shapes[k] }])) as Record<ResNetStage, FeatureShape>;
  }

  /**
   * Stage outputs for images x [N,H,W,3] (float32 NHWC): layer1..layer4 at strides 4/8/16/32 (fewer
   * with replaceStrideWithDilation). New tensors the caller owns; x is kept.
   */
  forwardFeatures(x: tf.Tensor4D): ResNetFeatures {
    assertImages(x, 'ResNet.forwardFeatures');
    return tf.tidy(() => this.features(x));
  }

  /** Logits [N, numClasses] for images x [N,H,W,3] (float32 NHWC); caller owns the result, x is kept. */
  forward(x: tf.Tensor4D): tf.Tensor2D {
    assertImages(x, 'ResNet.forward');
    return tf.tidy(() => {
      const { layer4 } = this.features(x);
      const pooled = this.avgpool.forward(layer4); // [N,1,1,C]
      return this.fc.forward(tf.reshape(pooled, [pooled.shape[0], this.inplanes]) as tf.Tensor2D);
    });
  }

  private features(x: tf.Tensor4D): ResNetFeatures {
    const stem = this.maxpool.forward(this.relu.forward(this.bn1.forward(this.conv1.forward(x))));
    const layer1 = this.layer1.forward(stem);
    const layer2 = this.layer2.forward(layer1);
    const layer3 = this.layer3.forward(layer2);
    const layer4 = this.layer4.forward(layer3);
    return { layer1, layer2, layer3, layer4 };
  }
}

function checkArguments(layers: readonly number[], dilate: readonly boolean[], numClasses: number): void {
  if (layers.length !== 4 || layers.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new ValueError(`ResNet: layers must be 4 positive integers (blocks per stage), got [${layers.join(',')}]`);
  }
  if (dilate.length !== 3) {
    throw new ValueError(`ResNet: replaceStrideWithDilation must have 3 entries (layer2..layer4), got ${dilate.length}`);
  }
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new ValueError(`ResNet: numClasses must be a positive integer, got ${numClasses}`);
  }
}
