import type * as tf from '@tensorflow/tfjs-core';
import { ValueError, type Module } from '@residual/core';
import type { Backbone } from '@residual/fpn';
import { FasterRCNN, MultiScaleRoIAlign, type FasterRCNNOptions, type RoIHeadsOptions } from '@residual/faster-rcnn';
import type { MaskDetection, RleMaskDetection } from './mask-detection.js';
import { MaskRCNNHeads } from './mask-rcnn-heads.js';
import { MaskRCNNPredictor } from './mask-rcnn-predictor.js';
import { MaskRCNNTransform, type MaskFormat } from './mask-rcnn-transform.js';
import { MaskRoIHeads, type MaskHead, type MaskPredictor } from './mask-roi-heads.js';

/** Options of {@link MaskRCNN}: {@link FasterRCNNOptions} plus torchvision's mask-branch arguments. */
export interface MaskRCNNOptions extends FasterRCNNOptions {
  /** Default MultiScaleRoIAlign(['0','1','2','3'], 14, 2). */
  maskRoiPool?: MultiScaleRoIAlign;
  /** Default MaskRCNNHeads(backbone.outChannels, [256, 256, 256, 256], 1). */
  maskHead?: MaskHead;
  /** Default MaskRCNNPredictor(256, 256, numClasses); with it, `numClasses` must be omitted. */
  maskPredictor?: MaskPredictor;
}

/** Options of {@link MaskRCNN.predict}. */
export interface PredictOptions {
  /** 'full' (default): float [K,H,W] probabilities as torchvision; 'rle': COCO RLE of `> 0.5`, streamed. */
  maskFormat?: MaskFormat;
}

// The mask branch joined to FasterRCNN's box-branch options in one MaskRoIHeads; on a failure the
// mask parts built here (not the ones passed in) are disposed.
function maskRoiHeads(backbone: Backbone, options: MaskRCNNOptions, box: RoIHeadsOptions): MaskRoIHeads {
  const created: Module[] = [];
  const own = <M extends Module>(m: M): M => (created.push(m), m);
  try {
    if (!options.maskPredictor && options.numClasses === undefined) {
      throw new ValueError('MaskRCNN: numClasses should not be undefined when maskPredictor is not specified');
    }
    const generator = options.generator;
    const maskRoiPool = options.maskRoiPool ?? own(new MultiScaleRoIAlign(['0', '1', '2', '3'], 14, 2));
    const maskHead = options.maskHead ?? own(new MaskRCNNHeads(backbone.outChannels, [256, 256, 256, 256], 1, { generator }));
    const maskPredictor = options.maskPredictor ?? own(new MaskRCNNPredictor(256, 256, options.numClasses as number, { generator }));
    return new MaskRoIHeads({ ...box, maskRoiPool, maskHead, maskPredictor });
  } catch (e) {
    created.forEach((m) => m.dispose());
    throw e;
  }
}

/**
 * torchvision's `MaskRCNN(backbone, num_classes, …)`, a {@link FasterRCNN} (as in torchvision): its
 * transform, RPN and box branch with their defaults (same option names), with the mask branch —
 * MultiScaleRoIAlign 14×14, MaskRCNNHeads 4 × 256, MaskRCNNPredictor(256, 256, numClasses) — joined to
 * the box branch in one {@link MaskRoIHeads}, and a {@link MaskRCNNTransform} that pastes the masks into
 * each input image. Every part is built once. Training adds `loss_mask` (targets need `masks` [K,H,W]);
 * `predict` adds `masks`. The model owns `backbone` and every part (`dispose()` frees them). State-dict
 * keys are torchvision's (`roi_heads.mask_head.{i}.0.*`, `roi_heads.mask_predictor.*` besides Faster
 * R-CNN's). Throws ValueError for `numClasses` together with `maskPredictor`, and as {@link FasterRCNN}.
 */
export class MaskRCNN extends FasterRCNN {
  /** The box and mask branches (`roi_heads.*` keys). */
  declare readonly roiHeads: MaskRoIHeads;
  /** Normalises, resizes and batches; maps boxes back and pastes masks. */
  declare readonly transform: MaskRCNNTransform;

  constructor(backbone: Backbone & Module, options: MaskRCNNOptions = {}) {
    if (options.maskPredictor && options.numClasses !== undefined) {
      throw new ValueError(`MaskRCNN: numClasses should be undefined when maskPredictor is specified, got ${options.numClasses}`);
    }
    const { maskRoiPool, maskHead, maskPredictor, ...boxOptions } = options;
    super(backbone, boxOptions, {
      transform: (t) => new MaskRCNNTransform(t),
      roiHeads: (box) => maskRoiHeads(backbone, { ...boxOptions, maskRoiPool, maskHead, maskPredictor }, box),
    });
  }

  /**
   * Detections per image in input pixels — boxes [K,4], scores [K] (descending), labels int32 [K] — with
   * `masks`: float32 [K,H,W] probabilities pasted into the input image (`maskFormat: 'full'`, torchvision's
   * output; threshold them yourself, usually > 0.5), or one COCO compressed RLE of `> 0.5` per detection
   * (`'rle'`: one H×W byte mask alive at a time, for many detections on large images). Runs in eval mode
   * (the previous mode is restored). Caller owns every tensor.
   */
  override predict(images: tf.Tensor3D | readonly tf.Tensor3D[], options?: PredictOptions & { maskFormat?: 'full' }): Promise<MaskDetection[]>;
  override predict(images: tf.Tensor3D | readonly tf.Tensor3D[], options: PredictOptions & { maskFormat: 'rle' }): Promise<RleMaskDetection[]>;
  override async predict(images: tf.Tensor3D | readonly tf.Tensor3D[], options: PredictOptions = {}): Promise<Array<MaskDetection | RleMaskDetection>> {
    const format = options.maskFormat ?? 'full';
    if (format !== 'full' && format !== 'rle') throw new ValueError(`MaskRCNN.predict: maskFormat must be 'full' or 'rle', got ${String(format)}`);
    const transform = this.transform;
    const previous = transform.maskFormat;
    transform.maskFormat = format;
    try {
      return (await super.predict(images)) as Array<MaskDetection | RleMaskDetection>;
    } finally {
      transform.maskFormat = previous;
    }
  }
}
