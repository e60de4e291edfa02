import * as tf from '@tensorflow/tfjs-core';
import type { ImageList } from '@residual/faster-rcnn';
import { filterProposals, type RegionProposalNetwork } from '@residual/rpn';

/**
 * The inference half of `RegionProposalNetwork.forward` for head outputs computed elsewhere:
 * anchors → decode (the RPN's BoxCoder) → filterProposals with the RPN's test-time settings.
 * `logits` [N,H,W,A] and `bboxReg` [N,H,W,4A] per level (NHWC, as RPNHead's), `maps` the feature
 * maps (for the anchor grid). Per image proposals [K,4] (batch pixels); caller owns them.
 */
export function rpnProposals(
  rpn: RegionProposalNetwork,
  batch: ImageList,
  maps: readonly tf.Tensor4D[],
  logits: readonly tf.Tensor4D[],
  bboxReg: readonly tf.Tensor4D[],
): tf.Tensor2D[] {
  return tf.tidy(() => {
    const n = batch.tensor.shape[0];
    const anchors = rpn.anchorGenerator.forward(batch, maps); // [A,4], same for every image
    const a = anchors.shape[0];
    const numAnchorsPerLevel = logits.map((l) => l.shape[1] * l.shape[2] * l.shape[3]);
    // NHWC flattening is (y, x, anchor) order, as torchvision's permute_and_flatten.
    const objectness = tf.concat(logits.map((l) => tf.reshape(l, [n, -1])), 1) as tf.Tensor2D; // [N,A]
    const deltas = tf.concat(bboxReg.map((d) => tf.reshape(d, [n, -1, 4])), 1); // [N,A,4]
    const decoded = rpn.boxCoder.decode(
      tf.reshape(deltas, [n * a, 4]) as tf.Tensor2D,
      tf.reshape(tf.tile(tf.expandDims(anchors, 0), [n, 1, 1]), [n * a, 4]) as tf.Tensor2D,
    );
    const { boxes } = filterProposals(tf.reshape(decoded, [n, a, 4]) as tf.Tensor3D, objectness, batch.imageSizes, numAnchorsPerLevel, {
      preNmsTopN: rpn.preNmsTopN.testing,
      postNmsTopN: rpn.postNmsTopN.testing,
      nmsThresh: rpn.nmsThresh,
      scoreThresh: rpn.scoreThresh,
      minSize: rpn.minSize,
    });
    return boxes;
  });
}
