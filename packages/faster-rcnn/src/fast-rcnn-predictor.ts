import * as tf from '@tensorflow/tfjs-core';
import { Linear, Module, ShapeError, formatShape, type Generator } from '@residual/core';

/** Outputs of {@link FastRCNNPredictor}: `classLogits` [R,numClasses], `boxRegression` [R,4·numClasses]. */
export interface BoxPredictions {
  classLogits: tf.Tensor2D;
  boxRegression: tf.Tensor2D;
}

/**
 * torchvision's `FastRCNNPredictor(in_channels, num_classes)`: `cls_score` (in → numClasses) and
 * `bbox_pred` (in → 4·numClasses, layout [class][dx,dy,dw,dh]); class 0 is background. Default Linear init.
 */
export class FastRCNNPredictor extends Module {
  readonly numClasses: number;
  readonly clsScore: Linear;
  readonly bboxPred: Linear;

  constructor(inChannels: number, numClasses: number, options: { generator?: Generator } = {}) {
    super();
    this.numClasses = numClasses;
    this.clsScore = this.registerModule('cls_score', new Linear(inChannels, numClasses, options));
    this.bboxPred = this.registerModule('bbox_pred', new Linear(inChannels, numClasses * 4, options));
  }

  /** x [R,in] (or [R,1,1,in]) → class logits and box deltas, caller owns both. */
  forward(x: tf.Tensor): BoxPredictions {
    const inFeatures = this.clsScore.inFeatures;
    const ok = (x.rank === 2 && x.shape[1] === inFeatures) || (x.rank === 4 && x.shape[1] === 1 && x.shape[2] === 1 && x.shape[3] === inFeatures);
    if (!ok) throw new ShapeError(`FastRCNNPredictor.forward: x must be [R,${inFeatures}] or [R,1,1,${inFeatures}], got ${formatShape(x.shape)}`);
    return tf.tidy(() => {
      const flat = tf.reshape(x, [x.shape[0], inFeatures]) as tf.Tensor2D;
      return { classLogits: this.clsScore.forward(flat), boxRegression: this.bboxPred.forward(flat) };
    });
  }
}
