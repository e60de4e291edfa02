import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, batchedNms } from '@residual/core';
import type { Detection, PostprocessDetectionsOptions } from '@residual/faster-rcnn';
import { hostDecode } from './host-proposals.js';
import type { HostTensor } from './onnx-session.js';

// postprocessDetections for box-head outputs on host arrays. torchvision decodes and clips every
// (proposal, class) pair (1000 × 91 at 800 px) before it keeps the few scoring above the threshold;
// here the softmax runs first (as a tfjs op, so the scores are the tfjs path's), the candidates are
// picked on the host, and only they are decoded (BoxCoder.decode's float32 steps), clipped and
// size-filtered on the host, then NMSed per class by core's batchedNms, in the same candidate order.

// clip_boxes_to_image on one coordinate: clamp to [0, size] (NaN stays NaN, as torch's clamp).
function clamp(v: number, size: number): number {
  return v < 0 ? 0 : v > size ? size : v;
}

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
    const [wx, wy, ww, wh] = options.boxCoder.weights;
    const decoded = hostDecode(deltas, refs, [wx, wy, ww, wh], Math.fround(options.boxCoder.bboxXformClip));
    // clip_boxes_to_image, then remove_small_boxes (float32 width and height ≥ 1e-2).
    const [height, width] = imageSizes[i];
    const kept: number[] = [];
    for (let n = 0; n < k; n++) {
      const b = decoded.subarray(4 * n, 4 * n + 4);
      [b[0], b[1], b[2], b[3]] = [clamp(b[0], width), clamp(b[1], height), clamp(b[2], width), clamp(b[3], height)];
      if (Math.fround(b[2] - b[0]) >= MIN_BOX_SIZE && Math.fround(b[3] - b[1]) >= MIN_BOX_SIZE) kept.push(n);
    }
    if (kept.length === 0) {
      out.push(emptyDetection());
      offset += r;
      continue;
    }
    const boxes = new Float32Array(4 * kept.length);
    kept.forEach((n, j) => boxes.set(decoded.subarray(4 * n, 4 * n + 4), 4 * j));
    const keptScores = Float32Array.from(kept, (n) => scores[n]);
    const keptLabels = Int32Array.from(kept, (n) => labels[n]);
    out.push(
      tf.tidy(() => {
        const keep = batchedNms(tf.tensor2d(boxes, [kept.length, 4]), tf.tensor1d(keptScores), tf.tensor1d(keptLabels, 'int32'), options.nmsThresh).dataSync();
        const top = Math.min(keep.length, options.detectionsPerImg);
        const pick = Array.from(keep.subarray(0, top));
        return {
          boxes: tf.tensor2d(Float32Array.from(pick.flatMap((j) => Array.from(boxes.subarray(4 * j, 4 * j + 4)))), [top, 4]),
          scores: tf.tensor1d(Float32Array.from(pick, (j) => keptScores[j])),
          labels: tf.tensor1d(Int32Array.from(pick, (j) => keptLabels[j]), 'int32'),
        };
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
