import * as tf from '@tensorflow/tfjs-core';
import type { BoxCoder} from '@residual/core';
import { ShapeError, batchedNms, clipBoxesToImage, formatShape, removeSmallBoxes } from '@residual/core';
import type { Detection } from './detection-types.js';

/** Inference settings of {@link postprocessDetections} (torchvision's RoIHeads arguments). */
export interface PostprocessDetectionsOptions {
  /** Decodes the per-class deltas (weights (10, 10, 5, 5) in Faster R-CNN). */
  boxCoder: BoxCoder;
  /** Keep candidates with score strictly above this. */
  scoreThresh: number;
  /** Per-class NMS IoU threshold. */
  nmsThresh: number;
  /** At most this many detections per image, by descending score. */
  detectionsPerImg: number;
}

// remove_small_boxes threshold of roi_heads.postprocess_detections.
const MIN_BOX_SIZE = 1e-2;

/**
 * torchvision's `RoIHeads.postprocess_detections` (parity-spec §8.4): decode `boxRegression` [R,4C]
 * against the concatenated `proposals` (one [Ri,4] per image), softmax `classLogits` [R,C], clip to
 * each image's `[h, w]`, drop class 0, keep scores > scoreThresh, drop boxes under 1e-2 px, per-class
 * NMS, keep the best `detectionsPerImg`. Candidates are ordered (proposal, class) before NMS, as in
 * torchvision, so ties resolve identically. Returns per image boxes [K,4], scores [K], labels int32 [K]
 * in resized-image coordinates; caller owns them. Reads scores and boxes back to the CPU.
 */
export function postprocessDetections(
  classLogits: tf.Tensor2D,
  boxRegression: tf.Tensor2D,
  proposals: readonly tf.Tensor2D[],
  imageSizes: ReadonlyArray<readonly [number, number]>,
  options: PostprocessDetectionsOptions,
): Detection[] {
  const total = proposals.reduce((a, p) => a + p.shape[0], 0);
  const numClasses = classLogits.shape[1];
  if (classLogits.shape[0] !== total || boxRegression.shape[0] !== total || boxRegression.shape[1] !== 4 * numClasses) {
    throw new ShapeError(
      `postprocessDetections: classLogits must be [${total},C] and boxRegression [${total},4C] for ${total} proposals, got ${formatShape(classLogits.shape)} and ${formatShape(boxRegression.shape)}`,
    );
  }
  const out: Detection[] = [];
  let offset = 0;
  proposals.forEach((props, i) => {
    const r = props.shape[0];
    out.push(
      tf.tidy(() => {
        const logits = tf.slice(classLogits, [offset, 0], [r, numClasses]);
        const deltas = tf.slice(boxRegression, [offset, 0], [r, 4 * numClasses]);
        const decoded = options.boxCoder.decode(deltas as tf.Tensor2D, props); // [r,C,4]
        const clipped = clipBoxesToImage(tf.reshape(decoded, [r * numClasses, 4]) as tf.Tensor2D, [imageSizes[i][0], imageSizes[i][1]]);
        // Drop the background column; candidate j = proposal·(C−1) + (class − 1).
        const boxes = tf.reshape(tf.slice(tf.reshape(clipped, [r, numClasses, 4]), [0, 1, 0], [r, numClasses - 1, 4]), [-1, 4]) as tf.Tensor2D;
        const scores = tf.reshape(tf.slice(tf.softmax(logits), [0, 1], [r, numClasses - 1]), [-1]) as tf.Tensor1D;
        return selectDetections(boxes, scores, numClasses, options);
      }),
    );
    offset += r;
  });
  return out;
}

function selectDetections(boxes: tf.Tensor2D, scores: tf.Tensor1D, numClasses: number, options: PostprocessDetectionsOptions): Detection {
  const s = scores.dataSync();
  const kept: number[] = [];
  for (let j = 0; j < s.length; j++) if (s[j] > options.scoreThresh) kept.push(j);
  const labelOf = (j: number): number => (j % (numClasses - 1)) + 1;
  if (kept.length === 0) return emptyDetection();
  let idx = tf.tensor1d(kept, 'int32');
  let b = tf.gather(boxes, idx) as tf.Tensor2D;
  let sc = tf.gather(scores, idx) as tf.Tensor1D;
  let labels = tf.tensor1d(kept.map(labelOf), 'int32');
  idx = removeSmallBoxes(b, MIN_BOX_SIZE);
  [b, sc, labels] = [tf.gather(b, idx), tf.gather(sc, idx), tf.gather(labels, idx)] as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
  if (idx.shape[0] === 0) return emptyDetection();
  const keep = batchedNms(b, sc, labels, options.nmsThresh);
  const top = tf.slice(keep, 0, Math.min(keep.shape[0], options.detectionsPerImg));
  return { boxes: tf.gather(b, top), scores: tf.gather(sc, top), labels: tf.gather(labels, top) };
}

// tf.gather with an empty index list gives odd shapes on some backends: build empty results directly.
function emptyDetection(): Detection {
  return { boxes: tf.zeros([0, 4]) as tf.Tensor2D, scores: tf.zeros([0]) as tf.Tensor1D, labels: tf.zeros([0], 'int32') as tf.Tensor1D };
}
