import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '@residual/core';
import type { ImageList } from '@residual/faster-rcnn';
import { filterProposals, type RegionProposalNetwork } from '@residual/rpn';
import type { HostTensor } from './onnx-session.js';

// rpnProposals for head outputs on host arrays. The per-level top-k, which torchvision runs on all
// ~160k anchors of an 800 px image, is a host selection here; only the selected candidates (at most
// preNmsTopN per level) are decoded and filtered, by the RPN's own BoxCoder and filterProposals on
// small tensors. Decoding is elementwise, so decoding the selection gives the same values as
// decoding everything and then selecting.

/**
 * Indices of the `k` largest values of `values[from, from + count)` (relative to `from`), in
 * descending order, ties by ascending index; NaN counts as the largest, as torch sorts it.
 */
export function topkIndices(values: ArrayLike<number>, from: number, count: number, k: number): Int32Array {
  const key = (i: number): number => {
    const v = values[from + i];
    return Number.isNaN(v) ? Infinity : v;
  };
  let candidates: number[];
  if (k >= count) {
    candidates = Array.from({ length: count }, (_, i) => i);
  } else {
    // The k-th largest key as a threshold, then everything at or above it (ties at the threshold cut by index).
    const sorted = new Float64Array(count);
    for (let i = 0; i < count; i++) sorted[i] = key(i);
    sorted.sort();
    const thresh = sorted[count - k];
    candidates = [];
    for (let i = 0; i < count; i++) if (key(i) >= thresh) candidates.push(i);
  }
  candidates.sort((a, b) => key(b) - key(a) || (key(b) === key(a) ? a - b : 0));
  return Int32Array.from(candidates.slice(0, k));
}

/**
 * The inference half of `RegionProposalNetwork.forward` for head outputs on host arrays: `logits[l]`
 * [N,H,W,A] and `bboxReg[l]` [N,H,W,4A] per level (NHWC: anchors in (y, x, a) order, as the anchor
 * generator's), `anchors` [ΣA,4] of one image (the same for all). Per image proposals [K,4] (batch
 * pixels, descending objectness); caller owns them.
 */
export function hostRpnProposals(
  rpn: RegionProposalNetwork,
  batch: ImageList,
  anchors: Float32Array,
  logits: readonly HostTensor[],
  bboxReg: readonly HostTensor[],
): tf.Tensor2D[] {
  const n = batch.tensor.shape[0];
  const perLevel = logits.map((l) => l.shape[1] * l.shape[2] * l.shape[3]);
  const total = perLevel.reduce((a, b) => a + b, 0);
  if (anchors.length !== 4 * total) throw new ShapeError(`hostRpnProposals: ${anchors.length / 4} anchors for ${total} objectness logits`);
  const pre = rpn.preNmsTopN.testing;
  const ks = perLevel.map((c) => Math.min(pre, c));
  const kTotal = ks.reduce((a, b) => a + b, 0);
  const objectness = new Float32Array(n * kTotal); // [N,K] logits of the selected candidates
  const deltas = new Float32Array(n * kTotal * 4); // [N·K,4]
  const refs = new Float32Array(n * kTotal * 4); // their anchors
  for (let img = 0; img < n; img++) {
    let at = img * kTotal;
    let anchorBase = 0;
    logits.forEach((l, level) => {
      const count = perLevel[level];
      const pick = topkIndices(l.data, img * count, count, ks[level]);
      const reg = bboxReg[level].data;
      for (const i of pick) {
        objectness[at] = l.data[img * count + i];
        deltas.set(reg.subarray(4 * (img * count + i), 4 * (img * count + i) + 4), 4 * at);
        refs.set(anchors.subarray(4 * (anchorBase + i), 4 * (anchorBase + i) + 4), 4 * at);
        at++;
      }
      anchorBase += count;
    });
  }
  return tf.tidy(() => {
    const decoded = rpn.boxCoder.decode(tf.tensor2d(deltas, [n * kTotal, 4]), tf.tensor2d(refs, [n * kTotal, 4])); // [N·K,1,4]
    // Each level's candidates are its top-k already, so filterProposals' own top-k keeps them all, in order.
    const { boxes } = filterProposals(tf.reshape(decoded, [n, kTotal, 4]) as tf.Tensor3D, tf.tensor2d(objectness, [n, kTotal]), batch.imageSizes, ks, {
      preNmsTopN: pre,
      postNmsTopN: rpn.postNmsTopN.testing,
      nmsThresh: rpn.nmsThresh,
      scoreThresh: rpn.scoreThresh,
      minSize: rpn.minSize,
    });
    return boxes;
  });
}
