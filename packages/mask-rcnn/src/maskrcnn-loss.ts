import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, ValueError, binaryCrossEntropyWithLogits, formatShape, roiAlign } from '@residual/core';

/**
 * torchvision's `project_masks_on_boxes`: for each box i, RoIAlign of ground-truth mask
 * `matchedIdxs[i]` over `boxes[i]` at M×M (spatial scale 1, adaptive sampling, aligned = false).
 * `gtMasks` [G,H,W] (int32, bool or float 0/1), `boxes` [P,4] (x1,y1,x2,y2, mask pixels), `matchedIdxs`
 * int32 [P]. Returns soft float32 targets [P,M,M], caller owns. Not differentiated (targets).
 */
export function projectMasksOnBoxes(gtMasks: tf.Tensor3D, boxes: tf.Tensor2D, matchedIdxs: tf.Tensor1D, m: number): tf.Tensor3D {
  const p = boxes.shape[0];
  if (matchedIdxs.rank !== 1 || matchedIdxs.shape[0] !== p) {
    throw new ShapeError(`projectMasksOnBoxes: matchedIdxs must be [${p}] (one per box), got ${formatShape(matchedIdxs.shape)}`);
  }
  return tf.tidy(() => {
    const masks = tf.expandDims(tf.cast(gtMasks, 'float32'), 3) as tf.Tensor4D; // [G,H,W,1]
    const rois = tf.concat([tf.expandDims(tf.cast(matchedIdxs, 'float32'), 1), boxes], 1) as tf.Tensor2D; // [P,5]
    return tf.reshape(roiAlign(masks, rois, m, 1, -1, false), [p, m, m]) as tf.Tensor3D;
  });
}

/**
 * torchvision's `maskrcnn_loss` (parity-spec §9.2). `maskLogits` [P,M,M,C] (NHWC: class on the last axis)
 * for the positive proposals of all images in order; per image `proposals[i]` [Pi,4] (resized-image
 * pixels), `gtMasks[i]` [Gi,H,W], `gtLabels[i]` int32 [Gi], `matchedIdxs[i]` int32 [Pi]. Targets are the
 * matched gt masks cut by {@link projectMasksOnBoxes}; the loss is the mean BCE-with-logits of each RoI's
 * gt-class channel against them, or `0·Σ maskLogits` when there is no positive. Returns a Scalar the
 * caller owns; differentiable with respect to `maskLogits`.
 */
export function maskrcnnLoss(
  maskLogits: tf.Tensor4D,
  proposals: readonly tf.Tensor2D[],
  gtMasks: readonly tf.Tensor3D[],
  gtLabels: readonly tf.Tensor1D[],
  matchedIdxs: readonly tf.Tensor1D[],
): tf.Scalar {
  const where = 'maskrcnnLoss';
  const n = proposals.length;
  if (gtMasks.length !== n || gtLabels.length !== n || matchedIdxs.length !== n) {
    throw new ValueError(
      `${where}: proposals, gtMasks, gtLabels and matchedIdxs must have one entry per image, got ${n}, ${gtMasks.length}, ${gtLabels.length}, ${matchedIdxs.length}`,
    );
  }
  const total = proposals.reduce((a, b) => a + b.shape[0], 0);
  if (maskLogits.rank !== 4 || maskLogits.shape[0] !== total || maskLogits.shape[1] !== maskLogits.shape[2]) {
    throw new ShapeError(`${where}: maskLogits must be [${total},M,M,C] (one per proposal, NHWC), got ${formatShape(maskLogits.shape)}`);
  }
  const [, m, , c] = maskLogits.shape;
  return tf.tidy(() => {
    if (total === 0) return tf.mul(tf.sum(maskLogits), 0) as tf.Scalar; // torch's `mask_logits.sum() * 0`
    const targets = tf.concat(proposals.map((p, i) => projectMasksOnBoxes(gtMasks[i], p, matchedIdxs[i], m))); // [P,M,M]
    const labels = tf.concat(gtLabels.map((l, i) => tf.gather(l, matchedIdxs[i]))).dataSync(); // gt class of each RoI
    const rows = new Int32Array(total);
    for (let i = 0; i < total; i++) {
      if (!(labels[i] >= 0 && labels[i] < c)) throw new ValueError(`${where}: label ${labels[i]} of RoI ${i} is outside [0, ${c})`);
      rows[i] = i * c + labels[i];
    }
    const perClass = tf.reshape(tf.transpose(maskLogits, [0, 3, 1, 2]), [total * c, m, m]); // [P·C,M,M]
    const selected = tf.gather(perClass, tf.tensor1d(rows, 'int32')); // [P,M,M]: channel label_i of RoI i
    return binaryCrossEntropyWithLogits(selected, targets);
  });
}
