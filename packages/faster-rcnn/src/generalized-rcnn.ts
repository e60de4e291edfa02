import * as tf from '@tensorflow/tfjs-core';
import { Module, ValueError } from '@residual/core';
import type { Backbone, FeatureMaps } from '@residual/fpn';
import type { Detection, DetectionTarget, ImageList, LossName, Losses } from './detection-types.js';
import type { GeneralizedRCNNTransform } from './generalized-rcnn-transform.js';
import type { RoIHeads } from './roi-heads.js';

/** What {@link GeneralizedRCNN} needs from a region proposal network (`@residual/rpn`'s RegionProposalNetwork). */
export interface ProposalGenerator extends Module {
  forward(images: ImageList, features: FeatureMaps, targets?: readonly DetectionTarget[]): { proposals: tf.Tensor2D[]; losses: Losses };
}

/** A detection head stage: `RoIHeads` or an extension of it (Mask R-CNN). */
export type DetectionHeads = Pick<RoIHeads, 'forward'> & Module;

/** Output of {@link GeneralizedRCNN.forward}: detections in eval (original image pixels), losses in training. */
export type RCNNOutput = {
  detections: Detection[];
  losses: Losses;
};

/**
 * Another engine for {@link GeneralizedRCNN.predict} (such as `@residual/onnx`'s onnxruntime engine): it
 * receives the model and the images and returns what `predict` would (detections in input pixels,
 * eval semantics, caller owns every tensor). It may run the dense parts elsewhere, asynchronously,
 * and use the model's own parts (transform, anchors, RoI pooling, postprocessing) for the rest.
 */
export interface DetectorEngine {
  /** A short name for messages, e.g. 'onnxruntime'. */
  readonly name: string;
  predict(model: GeneralizedRCNN, images: readonly tf.Tensor3D[]): Promise<Detection[]>;
}

/**
 * torchvision's `GeneralizedRCNN`: transform → backbone → rpn → roiHeads → transform.postprocess.
 * Every part is injected; state-dict keys are `backbone.*`, `rpn.*`, `roi_heads.*`. `forward` returns
 * `{ detections, losses }` in both modes (losses `{}` in eval, detections `[]` in training);
 * {@link predict} and {@link forwardTrain} are the typed entry points.
 */
export class GeneralizedRCNN extends Module {
  readonly transform: GeneralizedRCNNTransform;
  readonly backbone: Backbone & Module;
  readonly rpn: ProposalGenerator;
  readonly roiHeads: DetectionHeads;
  /** Engine of {@link predict}: null (default) runs the tfjs forward; `useEngine` of `@residual/onnx` sets another one. */
  engine: DetectorEngine | null = null;

  constructor(transform: GeneralizedRCNNTransform, backbone: Backbone & Module, rpn: ProposalGenerator, roiHeads: DetectionHeads) {
    super();
    this.transform = this.registerModule('transform', transform);
    this.backbone = this.registerModule('backbone', backbone);
    this.rpn = this.registerModule('rpn', rpn);
    this.roiHeads = this.registerModule('roi_heads', roiHeads);
  }

  /**
   * Runs the detector on HWC float32 images in [0,1] (any sizes). Training mode needs `targets` (boxes in
   * input pixels, labels int32) and returns losses; eval returns detections in input pixels. Sync;
   * caller owns every returned tensor; inputs are not disposed.
   */
  forward(images: readonly tf.Tensor3D[], targets?: readonly DetectionTarget[]): RCNNOutput {
    if (this.training && !targets) throw new ValueError('GeneralizedRCNN.forward: targets are required in training mode');
    const originalSizes = images.map((im) => [im.shape[0], im.shape[1]] as [number, number]);
    return tf.tidy(() => {
      const { images: batch, targets: resized } = this.transform.forward(images, this.training ? targets : undefined);
      if (resized) checkBoxes(resized);
      const features = this.backbone.forward(batch.tensor);
      const { proposals, losses: rpnLosses } = this.rpn.forward(batch, features, resized);
      const { detections, losses: headLosses } = this.roiHeads.forward(features, proposals, batch.imageSizes, resized);
      if (this.training) return { detections: [], losses: { ...headLosses, ...rpnLosses } };
      return { detections: this.transform.postprocess(detections, batch.imageSizes, originalSizes), losses: {} };
    });
  }

  /**
   * Detections per image (boxes [K,4] x1y1x2y2 in input pixels, scores [K] descending, labels int32 [K]),
   * computed in eval mode (the previous mode is restored) by {@link engine} when one is set. Caller owns the tensors.
   */
  async predict(images: tf.Tensor3D | readonly tf.Tensor3D[]): Promise<Detection[]> {
    const list = images instanceof tf.Tensor ? [images] : images;
    const wasTraining = this.training;
    if (wasTraining) this.eval();
    try {
      // Async engines (onnxruntime) await their dense parts between the sync TS steps.
      return this.engine ? await this.engine.predict(this, list) : this.forward(list).detections;
    } finally {
      if (wasTraining) this.train();
    }
  }

  /**
   * Training losses (`loss_classifier`, `loss_box_reg`, `loss_objectness`, `loss_rpn_box_reg`), sync and
   * differentiable, so it can run inside `tf.variableGrads`. Runs in training mode (a model in eval mode
   * is switched for the call and back). Images without boxes (boxes [0,4]) are valid.
   */
  forwardTrain(images: readonly tf.Tensor3D[], targets: readonly DetectionTarget[]): Record<LossName, tf.Scalar> {
    const wasTraining = this.training;
    if (!wasTraining) this.train();
    try {
      return this.forward(images, targets).losses as Record<LossName, tf.Scalar>;
    } finally {
      if (!wasTraining) this.eval();
    }
  }
}

// generalized_rcnn.py: every target box must have x2 > x1 and y2 > y1 (checked after resizing).
function checkBoxes(targets: readonly DetectionTarget[]): void {
  targets.forEach((t, i) => {
    const b = t.boxes.dataSync();
    for (let j = 0; j < b.length; j += 4) {
      if (!(b[j + 2] > b[j] && b[j + 3] > b[j + 1])) {
        const box = Array.from(b.subarray(j, j + 4)).map((v) => Number(v.toFixed(4)));
        throw new ValueError(
          `GeneralizedRCNN.forward: all bounding boxes should have positive height and width; found invalid box [${box.join(', ')}] (box ${j / 4}, resized coordinates) for target at index ${i}`,
        );
      }
    }
  });
}
