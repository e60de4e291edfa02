import * as tf from '@tensorflow/tfjs-core';
import { Conv2d, Generator, Module, ReLU, Sequential } from '@residual/core';
import { BackboneWithFPN } from '@residual/fpn';
import { FastRCNNPredictor, FasterRCNN, TwoMLPHead, type DetectionTarget } from '@residual/faster-rcnn';
import { MaskRCNN, MaskRCNNHeads, MaskRCNNPredictor } from '@residual/mask-rcnn';
import type { FeatureShape } from '@residual/resnet';
import { AnchorGenerator } from '@residual/rpn';

// Detectors small enough for 50-call leak loops on wasm: public classes wired with narrow parts.

const WIDTHS = [8, 8, 16, 16, 16];
const FPN_CHANNELS = 16;

/** A 5-stage conv body, stem stride 2, layer1..layer4 strides 4–32, each a 3×3 stride-2 conv + ReLU (NHWC). */
class TinyBody extends Module {
  constructor(generator: Generator) {
    super();
    ['stem', 'layer1', 'layer2', 'layer3', 'layer4'].forEach((name, i) => {
      const conv = new Conv2d(i === 0 ? 3 : WIDTHS[i - 1], WIDTHS[i], 3, { stride: 2, padding: 1, generator });
      this.registerModule(name, new Sequential(conv, new ReLU()));
    });
  }

  /** Channels and stride of each stage, as ResNet reports them (BackboneWithFPN.outputShape, the onnx export read it). */
  outputShape(): Record<string, FeatureShape> {
    return Object.fromEntries(['stem', 'layer1', 'layer2', 'layer3', 'layer4'].map((name, i) => [name, { channels: WIDTHS[i], stride: 2 ** (i + 1) }]));
  }
}

/** TinyBody + a 16-channel FPN with LastLevelMaxPool: features '0'..'3' and 'pool', strides 4–64. */
export function tinyFpnBackbone(generator: Generator): BackboneWithFPN {
  const layers = { layer1: '0', layer2: '1', layer3: '2', layer4: '3' };
  return new BackboneWithFPN(new TinyBody(generator), layers, WIDTHS.slice(1), FPN_CHANNELS, undefined, { generator });
}

/** The transform's [minSize, maxSize]: the default resizes {@link tinyScene} to itself. */
export type TinySizes = readonly [number, number];

/** Options shared by both tiny detectors: small images (default at most 40 pixels), few proposals and samples. */
function detectorOptions(generator: Generator, numClasses: number, [minSize, maxSize]: TinySizes): ConstructorParameters<typeof FasterRCNN>[1] {
  return {
    minSize,
    maxSize,
    rpnAnchorGenerator: new AnchorGenerator([[4], [8], [16], [32], [64]]),
    rpnPreNmsTopNTrain: 40,
    rpnPostNmsTopNTrain: 8,
    rpnPreNmsTopNTest: 40,
    rpnPostNmsTopNTest: 8,
    rpnBatchSizePerImage: 16,
    boxBatchSizePerImage: 8,
    boxScoreThresh: 0, // keep detections even from an untrained head, so the post-processing runs
    boxHead: new TwoMLPHead(FPN_CHANNELS * 7 * 7, 32, { generator }),
    boxPredictor: new FastRCNNPredictor(32, numClasses, { generator }),
    generator,
  };
}

/** A Faster R-CNN with `numClasses` classes, background included (default 3), over {@link tinyFpnBackbone}. */
export function tinyFasterRcnn(seed: number, numClasses = 3, sizes: TinySizes = [32, 40]): FasterRCNN {
  const generator = new Generator(seed);
  return new FasterRCNN(tinyFpnBackbone(generator), detectorOptions(generator, numClasses, sizes));
}

/** A Mask R-CNN with `numClasses` classes (default 3) over {@link tinyFpnBackbone}: one 8-wide mask conv, 8-wide predictor. */
export function tinyMaskRcnn(seed: number, numClasses = 3, sizes: TinySizes = [32, 40]): MaskRCNN {
  const generator = new Generator(seed);
  return new MaskRCNN(tinyFpnBackbone(generator), {
    ...detectorOptions(generator, numClasses, sizes),
    maskHead: new MaskRCNNHeads(FPN_CHANNELS, [8], 1, { generator }),
    maskPredictor: new MaskRCNNPredictor(8, 8, numClasses, { generator }),
  });
}

/** A detection scene: an HWC image in [0,1] (noise, two bright boxes) and its target with masks. */
export interface Scene {
  image: tf.Tensor3D;
  target: DetectionTarget & { masks: tf.Tensor3D };
}

/** A 32×40 scene with boxes [2,3,18,25] (label 1) and [21,6,38,29] (label 2); the caller disposes it. */
export function tinyScene(generator: Generator): Scene {
  const [h, w] = [32, 40];
  const boxes = [[2, 3, 18, 25], [21, 6, 38, 29]];
  const noise = generator.uniform([h, w, 3], 0, 0.3);
  const pixels = Float32Array.from(noise.dataSync());
  noise.dispose();
  const masks = new Int32Array(boxes.length * h * w);
  boxes.forEach(([x1, y1, x2, y2], k) => {
    for (let y = y1; y < y2; y++) {
      for (let x = x1; x < x2; x++) {
        masks[k * h * w + y * w + x] = 1;
        for (let c = 0; c < 3; c++) pixels[(y * w + x) * 3 + c] = k === 0 ? 0.6 : 0.95;
      }
    }
  });
  return {
    image: tf.tensor3d(pixels, [h, w, 3]),
    target: {
      boxes: tf.tensor2d(boxes.flat(), [boxes.length, 4]),
      labels: tf.tensor1d([1, 2], 'int32'),
      masks: tf.tensor3d(masks, [boxes.length, h, w], 'int32'),
    },
  };
}

/** Disposes a scene's tensors. */
export function disposeScene(scene: Scene): void {
  tf.dispose([scene.image, scene.target.boxes, scene.target.labels, scene.target.masks]);
}
