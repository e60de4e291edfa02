import * as tf from '@tensorflow/tfjs-core';
import { batchedNms, clipBoxesToImage, removeSmallBoxes } from '@residual/core';

/** Settings of {@link filterProposals} for the current mode (torchvision's train or test values). */
export interface FilterProposalsOptions {
  /** Candidates kept per level and image, by logit, before NMS. */
  preNmsTopN: number;
  /** Proposals kept per image after NMS. */
  postNmsTopN: number;
  nmsThresh: number;
  scoreThresh: number;
  /** Boxes narrower or shorter than this are dropped (inclusive ≥ keeps); torchvision uses 1e-3. */
  minSize: number;
}

/** Proposals per image (descending objectness probability) and their probabilities; caller owns all. */
export interface FilteredProposals {
  boxes: tf.Tensor2D[];
  scores: tf.Tensor1D[];
}

/**
 * torchvision's `RegionProposalNetwork.filter_proposals`: for decoded `proposals` [N,A,4] and logits
 * `objectness` [N,A] (anchors of all levels concatenated, `numAnchorsPerLevel` each): per image and
 * level the top `preNmsTopN` by logit (tf.topk), σ(logit), clip to the image's unpadded `[h, w]`,
 * drop boxes smaller than `minSize`, keep probabilities ≥ `scoreThresh`, NMS per level at
 * `nmsThresh` (levels never suppress each other), keep the first `postNmsTopN`.
 * Results carry no gradient (torchvision detaches both inputs); reads the selections back to the CPU.
 */
export function filterProposals(
  proposals: tf.Tensor3D,
  objectness: tf.Tensor2D,
  imageSizes: ReadonlyArray<readonly [number, number]>,
  numAnchorsPerLevel: readonly number[],
  options: FilterProposalsOptions,
): FilteredProposals {
  const [n] = proposals.shape;
  // Top-k per level over the whole batch: candidate indices [N, K] into the A anchors, and levels.
  const { candidates, levels } = tf.tidy(() => {
    const picks: tf.Tensor2D[] = [];
    const lv: number[] = [];
    let offset = 0;
    numAnchorsPerLevel.forEach((count, level) => {
      const k = Math.min(options.preNmsTopN, count);
      const slice = tf.slice(objectness, [0, offset], [n, count]);
      picks.push(tf.add(tf.topk(slice, k).indices, tf.scalar(offset, 'int32')) as tf.Tensor2D);
      for (let i = 0; i < k; i++) lv.push(level);
      offset += count;
    });
    return { candidates: tf.concat(picks, 1) as tf.Tensor2D, levels: tf.tensor1d(lv, 'int32') };
  });
  const boxes: tf.Tensor2D[] = [];
  const scores: tf.Tensor1D[] = [];
  try {
    for (let img = 0; img < n; img++) {
      const [b, s] = tf.tidy(() => filterImage(img, proposals, objectness, candidates, levels, imageSizes[img], options));
      boxes.push(b);
      scores.push(s);
    }
  } finally {
    tf.dispose([candidates, levels]);
  }
  return { boxes, scores };
}

function filterImage(
  img: number,
  proposals: tf.Tensor3D,
  objectness: tf.Tensor2D,
  candidates: tf.Tensor2D,
  levels: tf.Tensor1D,
  size: readonly [number, number],
  options: FilterProposalsOptions,
): [tf.Tensor2D, tf.Tensor1D] {
  const idx = tf.squeeze(tf.slice(candidates, [img, 0], [1, -1]), [0]) as tf.Tensor1D;
  const imgBoxes = tf.squeeze(tf.slice(proposals, [img, 0, 0], [1, -1, -1]), [0]) as tf.Tensor2D;
  const imgLogits = tf.squeeze(tf.slice(objectness, [img, 0], [1, -1]), [0]) as tf.Tensor1D;
  let boxes = clipBoxesToImage(tf.gather(imgBoxes, idx), size);
  let scores = tf.sigmoid(tf.gather(imgLogits, idx)) as tf.Tensor1D;
  let lvl = levels;
  const keepLarge = removeSmallBoxes(boxes, options.minSize);
  [boxes, scores, lvl] = [tf.gather(boxes, keepLarge), tf.gather(scores, keepLarge), tf.gather(lvl, keepLarge)];
  // torch compares the float32 scores with the threshold rounded to float32.
  const thresh = Math.fround(options.scoreThresh);
  const s = scores.dataSync();
  const keepScore: number[] = [];
  for (let i = 0; i < s.length; i++) if (s[i] >= thresh) keepScore.push(i);
  if (keepScore.length < s.length) {
    const k = tf.tensor1d(keepScore, 'int32');
    [boxes, scores, lvl] = [tf.gather(boxes, k), tf.gather(scores, k), tf.gather(lvl, k)];
  }
  const keep = batchedNms(boxes, scores, lvl, options.nmsThresh);
  // Nothing survived (e.g. NaN boxes after a diverged step). Return [0,4] directly: wasm's gather
  // from an empty tensor returns [1,1,0,4] instead of [0,4].
  if (keep.shape[0] === 0) return [tf.zeros([0, 4]) as tf.Tensor2D, tf.zeros([0]) as tf.Tensor1D];
  const top = tf.slice(keep, 0, Math.min(options.postNmsTopN, keep.shape[0]));
  // Rebuilt from values: tfjs has no stopGradient, and torchvision's proposals carry no gradient.
  const [outBoxes, outScores] = [tf.gather(boxes, top), tf.gather(scores, top)];
  return [tf.tensor2d(outBoxes.dataSync(), outBoxes.shape), tf.tensor1d(outScores.dataSync())];
}
