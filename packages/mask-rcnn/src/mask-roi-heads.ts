import * as tf from '@tensorflow/tfjs-core';
import { ValueError, type Module } from '@residual/core';
import { RoIHeads, type DetectionTarget, type MultiScaleRoIAlign, type RoIHeadsOptions, type RoIHeadsOutput } from '@residual/faster-rcnn';
import type { MaskDetection } from './mask-detection.js';
import { maskrcnnInference } from './maskrcnn-inference.js';
import { maskrcnnLoss } from './maskrcnn-loss.js';

/** A mask head: pooled NHWC features [R,P,P,C] → [R,P,P,C'] ({@link MaskRCNNHeads} or any module alike). */
export type MaskHead = Module & { forward(x: tf.Tensor4D): tf.Tensor4D };

/** A mask predictor: head features → mask logits [R,M,M,numClasses] ({@link MaskRCNNPredictor} or alike). */
export type MaskPredictor = Module & { forward(x: tf.Tensor4D): tf.Tensor4D };

/** Parts of {@link MaskRoIHeads}: the box branch's ({@link RoIHeadsOptions}) plus the mask branch. */
export interface MaskRoIHeadsOptions extends RoIHeadsOptions {
  /** Pools the mask features: MultiScaleRoIAlign(['0','1','2','3'], 14, 2) in torchvision. */
  maskRoiPool: MultiScaleRoIAlign;
  maskHead: MaskHead;
  maskPredictor: MaskPredictor;
}

/**
 * torchvision's `RoIHeads` with the mask branch (parity-spec §9): the box branch of {@link RoIHeads},
 * then, in training, `loss_mask` on the sampled positive proposals ({@link maskrcnnLoss}, targets need
 * `masks` [K,H,W] in resized coordinates); in eval, 28×28 mask probabilities of each detection's class
 * (`masks` [K,M,M], box-relative; the transform pastes them). Child keys `box_roi_pool`, `box_head`,
 * `box_predictor`, `mask_roi_pool`, `mask_head`, `mask_predictor` (torch's).
 */
export class MaskRoIHeads extends RoIHeads {
  readonly maskRoiPool: MultiScaleRoIAlign;
  readonly maskHead: MaskHead;
  readonly maskPredictor: MaskPredictor;

  constructor(options: MaskRoIHeadsOptions) {
    super(options);
    this.maskRoiPool = this.registerModule('mask_roi_pool', options.maskRoiPool);
    this.maskHead = this.registerModule('mask_head', options.maskHead);
    this.maskPredictor = this.registerModule('mask_predictor', options.maskPredictor);
  }

  /**
   * {@link RoIHeads.forwardWithSamples} plus the mask branch: eval detections carry `masks` [K,M,M]
   * probabilities; training losses add `loss_mask` (after `loss_classifier`, `loss_box_reg`). Caller owns
   * every returned tensor.
   */
  override forwardWithSamples(
    features: ReadonlyMap<string, tf.Tensor4D>,
    proposals: readonly tf.Tensor2D[],
    imageSizes: ReadonlyArray<readonly [number, number]>,
    targets?: readonly DetectionTarget[],
  ): RoIHeadsOutput {
    if (this.training) {
      targets?.forEach((t, i) => {
        if (!t.masks) throw new ValueError(`MaskRoIHeads.forward: every target needs masks in training; targets[${i}] has none`);
      });
    }
    const out = super.forwardWithSamples(features, proposals, imageSizes, targets);
    if (!this.training) {
      try {
        const probs = tf.tidy(() => {
          const logits = this.maskLogits(features, out.detections.map((d) => d.boxes), imageSizes);
          return maskrcnnInference(logits, out.detections.map((d) => d.labels));
        });
        const detections: MaskDetection[] = out.detections.map((d, i) => ({ ...d, masks: probs[i] }));
        return { detections, losses: {} };
      } catch (e) {
        tf.dispose(out.detections.flatMap((d) => [d.boxes, d.scores, d.labels]));
        throw e;
      }
    }
    const samples = out.samples;
    if (!samples || !targets) throw new ValueError('MaskRoIHeads.forward: the box branch returned no training samples');
    const lossMask = tf.tidy(() => {
      // torchvision: only the positive proposals (label > 0), with their matched gt indices
      const positive = samples.labels.map((l) => {
        const v = l.dataSync();
        const idx: number[] = [];
        for (let j = 0; j < v.length; j++) if (v[j] > 0) idx.push(j);
        return tf.tensor1d(idx, 'int32');
      });
      const maskProposals = samples.proposals.map((p, i) => tf.gather(p, positive[i]) as tf.Tensor2D);
      const matched = samples.matchedIdxs.map((m, i) => tf.gather(m, positive[i]) as tf.Tensor1D);
      const logits = this.maskLogits(features, maskProposals, imageSizes);
      return maskrcnnLoss(logits, maskProposals, targets.map((t) => t.masks as tf.Tensor3D), targets.map((t) => t.labels), matched);
    });
    return { detections: [], losses: { ...out.losses, loss_mask: lossMask }, samples };
  }

  // mask_roi_pool → mask_head → mask_predictor: boxes per image → logits [R,M,M,numClasses].
  private maskLogits(
    features: ReadonlyMap<string, tf.Tensor4D>,
    boxes: readonly tf.Tensor2D[],
    imageSizes: ReadonlyArray<readonly [number, number]>,
  ): tf.Tensor4D {
    return tf.tidy(() => this.maskPredictor.forward(this.maskHead.forward(this.maskRoiPool.forward(features, boxes, imageSizes))));
  }
}
