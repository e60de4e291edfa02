import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, batchedNms } from '@residual/core';
import type { ImageList } from '@residual/faster-rcnn';
import type { RegionProposalNetwork } from '@residual/rpn';
import type { HostTensor } from './onnx-session.js';

// rpnProposals for head outputs on host arrays. torchvision decodes all ~160k anchors of an 800 px
// image and then takes each level's top-k; here the top-k is a host selection first, and only the
// selected candidates (at most preNmsTopN per level) are decoded (BoxCoder.decode's float32 steps),
// clipped, size- and score-filtered as filterProposals does, then NMSed per level by core's batchedNms.
// Decoding is elementwise, so decoding the selection gives the values of decoding everything.

const { exp, fround, max, min } = Math; // bound once: global lookups are slow inside jest's vm

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
    // The k-th largest key as a threshold (native typed-array sort), then everything at or above it.
    const sorted = new Float32Array(count);
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
  const [wx, wy, ww, wh] = rpn.boxCoder.weights;
  const clip = fround(rpn.boxCoder.bboxXformClip);
  const boxes = hostDecode(deltas, refs, [wx, wy, ww, wh], clip); // [N·K,4]
  const out: tf.Tensor2D[] = [];
  try {
    for (let img = 0; img < n; img++) {
      out.push(filterImage(boxes.subarray(4 * img * kTotal, 4 * (img + 1) * kTotal), objectness.subarray(img * kTotal, (img + 1) * kTotal), ks, batch.imageSizes[img], rpn));
    }
  } catch (e) {
    tf.dispose(out);
    throw e;
  }
  return out;
}

/**
 * BoxCoder.decode for one code per box, in its float32 steps: `deltas` (dx,dy,dw,dh) against `refs`
 * (x1,y1,x2,y2); dw, dh divided by their weights and clamped from above at `clip`. Returns [K,4].
 */
export function hostDecode(deltas: Float32Array, refs: Float32Array, [wx, wy, ww, wh]: readonly number[], clip: number): Float32Array {
  const out = new Float32Array(deltas.length);
  for (let i = 0; i < deltas.length; i += 4) {
    const w = fround(refs[i + 2] - refs[i]);
    const h = fround(refs[i + 3] - refs[i + 1]);
    const cx = fround(refs[i] + fround(0.5 * w));
    const cy = fround(refs[i + 1] + fround(0.5 * h));
    const dx = fround(deltas[i] / wx);
    const dy = fround(deltas[i + 1] / wy);
    const dw = min(fround(deltas[i + 2] / ww), clip);
    const dh = min(fround(deltas[i + 3] / wh), clip);
    const pcx = fround(fround(dx * w) + cx);
    const pcy = fround(fround(dy * h) + cy);
    const halfW = fround(0.5 * fround(fround(exp(dw)) * w));
    const halfH = fround(0.5 * fround(fround(exp(dh)) * h));
    out[i] = pcx - halfW;
    out[i + 1] = pcy - halfH;
    out[i + 2] = pcx + halfW;
    out[i + 3] = pcy + halfH;
  }
  return out;
}

// filterProposals' per-image part on the selected candidates (`ks[l]` per level, in top-k order):
// clip, σ, drop boxes under minSize and scores under scoreThresh, NMS per level, keep postNmsTopN.
function filterImage(decoded: Float32Array, logits: Float32Array, ks: readonly number[], [height, width]: readonly [number, number], rpn: RegionProposalNetwork): tf.Tensor2D {
  const minSize = rpn.minSize;
  const thresh = fround(rpn.scoreThresh); // torch compares float32 scores with the float32 threshold
  const boxes: number[] = [];
  const scores: number[] = [];
  const levels: number[] = [];
  let at = 0;
  ks.forEach((k, level) => {
    for (let e = at + k; at < e; at++) {
      const x1 = min(max(decoded[4 * at], 0), width);
      const y1 = min(max(decoded[4 * at + 1], 0), height);
      const x2 = min(max(decoded[4 * at + 2], 0), width);
      const y2 = min(max(decoded[4 * at + 3], 0), height);
      if (!(fround(x2 - x1) >= minSize && fround(y2 - y1) >= minSize)) continue;
      const score = fround(1 / (1 + exp(-logits[at])));
      if (!(score >= thresh)) continue;
      boxes.push(x1, y1, x2, y2);
      scores.push(score);
      levels.push(level);
    }
  });
  if (scores.length === 0) return tf.zeros([0, 4]) as tf.Tensor2D;
  return tf.tidy(() => {
    const b = tf.tensor2d(boxes, [scores.length, 4]);
    const keep = batchedNms(b, tf.tensor1d(scores), tf.tensor1d(levels, 'int32'), rpn.nmsThresh).dataSync();
    const top = Math.min(rpn.postNmsTopN.testing, keep.length);
    const out = new Float32Array(4 * top);
    for (let i = 0; i < top; i++) out.set(boxes.slice(4 * keep[i], 4 * keep[i] + 4), 4 * i);
    return tf.tensor2d(out, [top, 4]);
  });
}
