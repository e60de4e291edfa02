import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, crossEntropy, formatShape, smoothL1Loss } from '@residual/core';

/** The box-branch losses, torchvision's names; scalars the caller owns. */
export interface FastRCNNLosses {
  loss_classifier: tf.Scalar;
  loss_box_reg: tf.Scalar;
}

/**
 * torchvision's `fastrcnn_loss` (parity-spec §8.3) over the sampled RoIs of all images:
 * `loss_classifier` = mean softmax cross entropy of `classLogits` [R,C] against `labels` int32 [R];
 * `loss_box_reg` = Σ over RoIs with label > 0 of smooth-L1 (β = 1/9) between that label's 4 deltas in
 * `boxRegression` [R,4C] and `regressionTargets` [R,4], divided by R (all sampled RoIs).
 * Differentiable w.r.t. the logits and deltas; reads `labels` back to the CPU.
 */
export function fastrcnnLoss(
  classLogits: tf.Tensor2D,
  boxRegression: tf.Tensor2D,
  labels: tf.Tensor1D,
  regressionTargets: tf.Tensor2D,
): FastRCNNLosses {
  const [r, c] = classLogits.shape;
  const shapesOk = boxRegression.shape[0] === r && boxRegression.shape[1] === 4 * c && labels.shape[0] === r
    && regressionTargets.shape[0] === r && regressionTargets.shape[1] === 4;
  if (!shapesOk) {
    throw new ShapeError(
      `fastrcnnLoss: expected classLogits [R,C], boxRegression [R,4C], labels [R], regressionTargets [R,4] with R = ${r}, C = ${c}, got ${formatShape(boxRegression.shape)}, ${formatShape(labels.shape)}, ${formatShape(regressionTargets.shape)}`,
    );
  }
  return tf.tidy(() => {
    const lossClassifier = crossEntropy(classLogits, labels);
    const l = labels.dataSync();
    const pos: number[] = [];
    const rows: number[] = [];
    for (let i = 0; i < r; i++) {
      if (l[i] > 0) {
        pos.push(i);
        rows.push(i * c + l[i]); // row of (RoI i, class l[i]) in boxRegression viewed as [R·C, 4]
      }
    }
    let lossBoxReg: tf.Scalar;
    if (pos.length === 0) {
      // torch sums an empty selection to 0; keep the zero connected to the graph.
      lossBoxReg = tf.mul(tf.sum(boxRegression), 0) as tf.Scalar;
    } else {
      const pred = tf.gather(tf.reshape(boxRegression, [r * c, 4]), tf.tensor1d(rows, 'int32')); // [P,4]
      const target = tf.gather(regressionTargets, tf.tensor1d(pos, 'int32')); // [P,4]
      lossBoxReg = tf.div(smoothL1Loss(pred, target, { beta: 1 / 9, reduction: 'sum' }), r) as tf.Scalar;
    }
    return { loss_classifier: lossClassifier, loss_box_reg: lossBoxReg };
  });
}
