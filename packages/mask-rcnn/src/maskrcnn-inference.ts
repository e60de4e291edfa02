import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, ValueError, formatShape } from '@residual/core';

/**
 * torchvision's `maskrcnn_inference`: for each detection, the sigmoid of its predicted class's channel.
 * `maskLogits` [K,M,M,C] (NHWC, class last) for the detections of all images in order; `labels[i]` int32
 * [Ki] per image (ΣKi = K). Returns per image float32 probabilities [Ki,M,M], caller owns.
 */
export function maskrcnnInference(maskLogits: tf.Tensor4D, labels: readonly tf.Tensor1D[]): tf.Tensor3D[] {
  const counts = labels.map((l) => l.shape[0]);
  const total = counts.reduce((a, b) => a + b, 0);
  if (maskLogits.rank !== 4 || maskLogits.shape[0] !== total) {
    throw new ShapeError(`maskrcnnInference: maskLogits must be [${total},M,M,C] (one per label), got ${formatShape(maskLogits.shape)}`);
  }
  const [, mh, mw, c] = maskLogits.shape;
  const all = labels.length ? tf.tidy(() => tf.concat(labels.map((l) => tf.cast(l, 'int32')))) : tf.tensor1d([], 'int32');
  const values = all.dataSync();
  all.dispose();
  const rows = new Int32Array(total);
  for (let i = 0; i < total; i++) {
    if (!(values[i] >= 0 && values[i] < c)) throw new ValueError(`maskrcnnInference: label ${values[i]} of detection ${i} is outside [0, ${c})`);
    rows[i] = i * c + values[i];
  }
  // No detections anywhere: wasm's transpose of an empty tensor throws, so answer directly.
  if (total === 0) return counts.map(() => tf.zeros([0, mh, mw]) as tf.Tensor3D);
  return tf.tidy(() => {
    const perClass = tf.reshape(tf.transpose(maskLogits, [0, 3, 1, 2]), [total * c, mh, mw]); // [K·C,M,M]
    // Selecting before the sigmoid gives the same values (elementwise) for a fraction of the work.
    const probs = tf.sigmoid(tf.gather(perClass, tf.tensor1d(rows, 'int32'))) as tf.Tensor3D; // [K,M,M]
    return counts.length > 1 ? (tf.split(probs, counts, 0) as tf.Tensor3D[]) : [probs];
  });
}
