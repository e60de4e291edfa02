import * as tf from '@tensorflow/tfjs-core';
import { boxIou, smoothL1Loss, type BoxCoder } from '@residual/core';
import type { SampledMasks } from './balanced-positive-negative-sampler.js';
import { Matcher } from './matcher.js';

/** Labels per anchor (1 foreground, 0 background, −1 ignored) and each anchor's matched gt box, per image. */
export interface AnchorTargets {
  /** [A] per image. */
  labels: Float32Array[];
  /** Flat [A·4] per image: the matched gt box (x1,y1,x2,y2), zeros where unmatched or without gt. */
  matchedGtBoxes: Float32Array[];
}

/**
 * torchvision's `assign_targets_to_anchors`: per image, IoU(gt, anchors) through `matcher`; label
 * 1 where matched (≥ 0), 0 below the low threshold, −1 between thresholds; an image without gt boxes
 * gets all labels 0 and zero boxes. `anchors` [A,4] are shared by all images; `gtBoxes` [K,4] per
 * image. Reads IoUs back to the CPU.
 */
export function assignTargetsToAnchors(anchors: tf.Tensor2D, gtBoxes: readonly tf.Tensor2D[], matcher: Matcher): AnchorTargets {
  const a = anchors.shape[0];
  const labels: Float32Array[] = [];
  const matchedGtBoxes: Float32Array[] = [];
  for (const gt of gtBoxes) {
    const l = new Float32Array(a);
    const boxes = new Float32Array(a * 4);
    const k = gt.shape[0];
    if (k > 0) {
      const iou = boxIou(gt, anchors);
      const matches = matcher.matchArray(iou.dataSync(), k, a);
      iou.dispose();
      const g = gt.dataSync();
      for (let j = 0; j < a; j++) {
        const m = matches[j];
        l[j] = m >= 0 ? 1 : m === Matcher.BETWEEN_THRESHOLDS ? -1 : 0;
        const src = Math.max(m, 0) * 4; // torchvision: gt_boxes[matched_idxs.clamp(min=0)]
        boxes.set(g.subarray(src, src + 4), j * 4);
      }
    }
    labels.push(l);
    matchedGtBoxes.push(boxes);
  }
  return { labels, matchedGtBoxes };
}

/** The RPN losses, named as torchvision's. */
export interface RPNLosses {
  loss_objectness: tf.Scalar;
  loss_rpn_box_reg: tf.Scalar;
}

/**
 * torchvision's `RegionProposalNetwork.compute_loss` on sampled anchors: the sampled set is every
 * sampled positive (images in order, ascending) then every sampled negative;
 * `loss_objectness` = mean BCE-with-logits over the set, `loss_rpn_box_reg` = Σ smooth-L1 (β = 1/9)
 * over the positives' 4 deltas vs `encode(matched gt, anchor)` (BoxCoder(1,1,1,1)) / set size.
 * `objectness` [N·A] logits and `deltas` [N·A,4] keep their gradients; caller owns both losses.
 */
export function rpnLoss(
  objectness: tf.Tensor1D,
  deltas: tf.Tensor2D,
  anchors: tf.Tensor2D,
  targets: AnchorTargets,
  sampled: SampledMasks,
  boxCoder: BoxCoder,
): RPNLosses {
  const a = anchors.shape[0];
  const pos: number[] = [];
  const neg: number[] = [];
  sampled.positive.forEach((m, img) => m.forEach((v, j) => v && pos.push(img * a + j)));
  sampled.negative.forEach((m, img) => m.forEach((v, j) => v && neg.push(img * a + j)));
  const all = [...pos, ...neg];
  const anchorData = anchors.dataSync();
  const posAnchors = new Float32Array(pos.length * 4);
  const posGt = new Float32Array(pos.length * 4);
  const sampledLabels = new Float32Array(all.length);
  pos.forEach((g, i) => {
    const [img, j] = [Math.floor(g / a), g % a];
    posAnchors.set(anchorData.subarray(j * 4, j * 4 + 4), i * 4);
    posGt.set(targets.matchedGtBoxes[img].subarray(j * 4, j * 4 + 4), i * 4);
  });
  all.forEach((g, i) => {
    sampledLabels[i] = targets.labels[Math.floor(g / a)][g % a];
  });
  return tf.tidy(() => {
    const regressionTargets = boxCoder.encode(tf.tensor2d(posGt, [pos.length, 4]), tf.tensor2d(posAnchors, [pos.length, 4]));
    const posDeltas = tf.gather(deltas, tf.tensor1d(pos, 'int32'));
    const boxLoss = tf.div(smoothL1Loss(posDeltas, regressionTargets, { beta: 1 / 9, reduction: 'sum' }), all.length);
    const logits = tf.gather(objectness, tf.tensor1d(all, 'int32'));
    const objectnessLoss = bceWithLogitsMean(logits, tf.tensor1d(sampledLabels));
    return { loss_objectness: objectnessLoss as tf.Scalar, loss_rpn_box_reg: boxLoss as tf.Scalar };
  });
}

// Mean BCE-with-logits, (1 − t)·z + softplus(−z): the value of core's binaryCrossEntropyWithLogits.
// Not core's function: it goes through tf.logSigmoid, whose custom gradient closes over its input
// instead of saving it, so computed logits are already disposed when tf.variableGrads runs the
// backward pass ("Cannot read properties of undefined (reading 'backend')"). Use core's once fixed.
function bceWithLogitsMean(logits: tf.Tensor1D, targets: tf.Tensor1D): tf.Scalar {
  return tf.mean(tf.add(tf.mul(tf.sub(1, targets), logits), tf.softplus(tf.neg(logits))));
}
