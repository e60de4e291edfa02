import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, batchedNms, clipBoxesToImage, removeSmallBoxes } from '@residual/core';
import type { Detection, PostprocessDetectionsOptions } from '@residual/faster-rcnn';
import type { HostTensor } from './onnx-session.js';

// postprocessDetections for box-head outputs on host arrays. torchvision decodes and clips every
// (proposal, class) pair (1000 × 91 at 800 px) before it keeps the few scoring above the threshold;
// here the softmax runs first (as a tfjs op, so the scores are the tfjs path's), the candidates are
// picked on the host, and only they are decoded (the head's BoxCoder), clipped, size-filtered and
// NMSed, in the same candidate order. Decoding and clipping are elementwise, so the values match.

// remove_small_boxes threshold of roi_heads.postprocess_detections.
const MIN_BOX_SIZE = 1e-2;

/**
 * `postprocessDetections(classLogits, boxRegression, proposals, imageSizes, options)` with the head's
 * outputs as host arrays: `classLogits` [R,C], `boxRegression` [R,4C], `proposals` one [Ri,4] per image.
 * Per image boxes [K,4], scores [K], labels int32 [K] in batch pixels; caller owns them.
 */
export function hostPostprocessDetections(
  classLogits: HostTensor,
  boxRegression: HostTensor,
  proposals: readonly tf.Tensor2D[],
  imageSizes: ReadonlyArray<readonly [number, number]>,
  options: PostprocessDetectionsOptions,
): Detection[] {
  const total = proposals.reduce((a, p) => a + p.shape[0], 0);
  const numClasses = classLogits.shape[1];
  if (classLogits.shape[0] !== total || boxRegression.shape[0] !== total || boxRegression.shape[1] !== 4 * numClasses) {
    throw new ShapeError(
      `hostPostprocessDetections: classLogits must be [${total},C] and boxRegression [${total},4C] for ${total} proposals, got [${classLogits.shape.join(',')}] and [${boxRegression.shape.join(',')}]`,
    );
  }
  const out: Detection[] = [];
  let offset = 0;
  for (let i = 0; i < proposals.length; i++) {
    const r = proposals[i].shape[0];
    const rows = classLogits.data.subarray(offset * numClasses, (offset + r) * numClasses);
    const probs = tf.tidy(() => tf.softmax(tf.tensor2d(rows, [r, numClasses])).dataSync()); // [r,C]
    // Candidate j = proposal·(C−1) + (class − 1), ascending, as torchvision orders them before NMS.
    const cand: number[] = [];
    for (let p = 0; p < r; p++) {
      for (let c = 1; c < numClasses; c++) if (probs[p * numClasses + c] > options.scoreThresh) cand.push(p * (numClasses - 1) + c - 1);
    }
    if (cand.length === 0) {
      out.push(emptyDetection());
      offset += r;
      continue;
    }
    const props = proposals[i].dataSync();
    const k = cand.length;
    const deltas = new Float32Array(4 * k);
    const refs = new Float32Array(4 * k);
    const scores = new Float32Array(k);
    const labels = new Int32Array(k);
    cand.forEach((j, n) => {
      const p = Math.floor(j / (numClasses - 1));
      const c = (j % (numClasses - 1)) + 1;
      const at = 4 * ((offset + p) * numClasses + c);
      deltas.set(boxRegression.data.subarray(at, at + 4), 4 * n);
      refs.set(props.subarray(4 * p, 4 * p + 4), 4 * n);
      scores[n] = probs[p * numClasses + c];
      labels[n] = c;
    });
    out.push(
      tf.tidy(() => {
        const decoded = options.boxCoder.decode(tf.tensor2d(deltas, [k, 4]), tf.tensor2d(refs, [k, 4])); // [k,1,4]
        let b = clipBoxesToImage(tf.reshape(decoded, [k, 4]) as tf.Tensor2D, [imageSizes[i][0], imageSizes[i][1]]);
        let sc = tf.tensor1d(scores);
        let lb = tf.tensor1d(labels, 'int32');
        const idx = removeSmallBoxes(b, MIN_BOX_SIZE);
        if (idx.shape[0] === 0) return emptyDetection();
        [b, sc, lb] = [tf.gather(b, idx), tf.gather(sc, idx), tf.gather(lb, idx)] as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
        const keep = batchedNms(b, sc, lb, options.nmsThresh);
        const top = tf.slice(keep, 0, Math.min(keep.shape[0], options.detectionsPerImg));
        return { boxes: tf.gather(b, top), scores: tf.gather(sc, top), labels: tf.gather(lb, top) };
      }),
    );
    offset += r;
  }
  return out;
}

// tf.gather with an empty index list gives odd shapes on some backends: build empty results directly.
function emptyDetection(): Detection {
  return { boxes: tf.zeros([0, 4]) as tf.Tensor2D, scores: tf.zeros([0]) as tf.Tensor1D, labels: tf.zeros([0], 'int32') as tf.Tensor1D };
}
