import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, assertDtype, assertShape, formatShape } from '../errors.js';

// torchvision nms_kernel.cpp re-implemented over Float32Array, float32 arithmetic via Math.fround.
//
// Why not tf.image.nonMaxSuppression: it suppresses when IoU >= threshold (torchvision: strictly >),
// computes IoU in float64 from min/max-normalised corners (torchvision: float32, boxes as given), and
// needs maxOutputSize. Results differ exactly where parity tests look (IoU equal to the threshold).

// Math's functions bound once: a global `Math.x` lookup per call is ~20× slower inside jest's vm
// context (where the tests run), and these loops run O(N²) times.
const { fround, max, min } = Math;

// torchvision's CPU batched_nms uses the coordinate trick while boxes.numel() <= 4000.
const COORDINATE_TRICK_MAX_BOXES = 1000;

/**
 * Indices 0..n−1 ordered by descending score with a stable sort (equal scores keep ascending index),
 * NaN first (torch sorts NaN as the largest value).
 */
export function sortByScoreDescending(scores: ArrayLike<number>, indices?: readonly number[]): number[] {
  const order = indices ? [...indices] : Array.from({ length: scores.length }, (_, i) => i);
  // Array.prototype.sort is stable (ES2019), so ties keep their input (ascending) order.
  return order.sort((a, b) => {
    const sa = scores[a];
    const sb = scores[b];
    const na = Number.isNaN(sa);
    const nb = Number.isNaN(sb);
    if (na || nb) return na === nb ? 0 : na ? -1 : 1;
    return sb > sa ? 1 : sb < sa ? -1 : 0;
  });
}

/** Float32 areas `(x2 − x1)·(y2 − y1)` of a flat [n·4] box array. */
export function boxAreasF32(boxes: Float32Array): Float32Array {
  const n = boxes.length / 4;
  const areas = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    areas[i] = fround(boxes[4 * i + 2] - boxes[4 * i]) * fround(boxes[4 * i + 3] - boxes[4 * i + 1]);
  }
  return areas;
}

/** IoU of boxes i and j of a flat [n·4] array, in float32 as torchvision's kernel (NaN for 0/0). */
export function iouF32(boxes: Float32Array, areas: Float32Array, i: number, j: number): number {
  const xx1 = max(boxes[4 * i], boxes[4 * j]);
  const yy1 = max(boxes[4 * i + 1], boxes[4 * j + 1]);
  const xx2 = min(boxes[4 * i + 2], boxes[4 * j + 2]);
  const yy2 = min(boxes[4 * i + 3], boxes[4 * j + 3]);
  const w = max(0, fround(xx2 - xx1));
  const h = max(0, fround(yy2 - yy1));
  const inter = fround(w * h);
  return fround(inter / fround(fround(areas[i] + areas[j]) - inter));
}

/**
 * Greedy NMS over the candidates `order` (already sorted by descending score) of a flat box array.
 * Keeps a box, then suppresses every later box with IoU > iouThreshold (strictly; NaN never suppresses).
 * Returns the kept indices in the order kept.
 */
export function greedyNms(boxes: Float32Array, order: readonly number[], iouThreshold: number): number[] {
  const areas = boxAreasF32(boxes);
  const suppressed = new Uint8Array(areas.length);
  const keep: number[] = [];
  for (let a = 0; a < order.length; a++) {
    const i = order[a];
    if (suppressed[i]) continue;
    keep.push(i);
    for (let b = a + 1; b < order.length; b++) {
      const j = order[b];
      if (!suppressed[j] && iouF32(boxes, areas, i, j) > iouThreshold) suppressed[j] = 1;
    }
  }
  return keep;
}

function checkBoxesScores(boxes: tf.Tensor2D, scores: tf.Tensor1D, where: string): void {
  assertShape(boxes, [-1, 4], 'boxes', where);
  assertShape(scores, [-1], 'scores', where);
  if (scores.shape[0] !== boxes.shape[0]) {
    throw new ShapeError(
      `${where}: scores must be [${boxes.shape[0]}] (one per box), got ${formatShape(scores.shape)}`,
    );
  }
}

/**
 * Non-maximum suppression with torchvision's exact semantics: boxes [N,4] (x1,y1,x2,y2, pixels) and
 * scores [N] are sorted by descending score (stable: equal scores keep ascending index); each kept box
 * suppresses later boxes whose float32 IoU is strictly greater than `iouThreshold`; NaN IoU (two
 * zero-area boxes) never suppresses. Returns int32 [K] indices in descending-score order, caller owns.
 * Sync: reads boxes and scores back to the CPU once.
 */
export function nms(boxes: tf.Tensor2D, scores: tf.Tensor1D, iouThreshold: number): tf.Tensor1D {
  checkBoxesScores(boxes, scores, 'nms');
  const b = boxes.dataSync() as Float32Array;
  const s = scores.dataSync();
  return tf.tensor1d(greedyNms(Float32Array.from(b), sortByScoreDescending(s), iouThreshold), 'int32');
}

/**
 * NMS applied independently per category `idxs` [N] int32 (boxes of different categories never
 * suppress each other). Returns int32 [K] indices sorted by descending score, caller owns; empty input
 * gives an empty int32 tensor.
 *
 * Follows torchvision's two CPU paths so results equal torch: for N ≤ 1000 the "coordinate trick"
 * (every box shifted by `idx·(max coordinate + 1)` in float32, then one NMS: ties keep ascending
 * index); for N > 1000 one NMS per category, then the survivors stably sorted by descending score.
 * Only the order of exactly tied scores on the second path can differ from torch, whose sort there
 * is not stable.
 */
export function batchedNms(
  boxes: tf.Tensor2D,
  scores: tf.Tensor1D,
  idxs: tf.Tensor1D,
  iouThreshold: number,
): tf.Tensor1D {
  checkBoxesScores(boxes, scores, 'batchedNms');
  assertShape(idxs, [-1], 'idxs', 'batchedNms');
  assertDtype(idxs, ['int32'], 'idxs', 'batchedNms');
  const n = boxes.shape[0];
  if (idxs.shape[0] !== n) {
    throw new ShapeError(`batchedNms: idxs must be [${n}] (one per box), got ${formatShape(idxs.shape)}`);
  }
  if (n === 0) return tf.tensor1d([], 'int32');
  const b = boxes.dataSync() as Float32Array;
  const s = scores.dataSync();
  const c = idxs.dataSync();
  const keep = n <= COORDINATE_TRICK_MAX_BOXES ? coordinateTrick(b, s, c, iouThreshold) : perCategory(b, s, c, iouThreshold);
  return tf.tensor1d(keep, 'int32');
}

// torchvision _batched_nms_coordinate_trick, float32 step by step.
function coordinateTrick(boxes: Float32Array, scores: ArrayLike<number>, idxs: ArrayLike<number>, thr: number): number[] {
  let max = -Infinity;
  for (let i = 0; i < boxes.length; i++) max = boxes[i] > max || Number.isNaN(boxes[i]) ? boxes[i] : max;
  const step = fround(max + 1);
  const shifted = new Float32Array(boxes.length);
  for (let i = 0; i < boxes.length; i++) {
    shifted[i] = boxes[i] + fround(idxs[i >> 2] * step);
  }
  return greedyNms(shifted, sortByScoreDescending(scores), thr);
}

// torchvision _batched_nms_vanilla with a stable final sort.
function perCategory(boxes: Float32Array, scores: ArrayLike<number>, idxs: ArrayLike<number>, thr: number): number[] {
  const members = new Map<number, number[]>();
  for (let i = 0; i < idxs.length; i++) {
    const list = members.get(idxs[i]);
    if (list) list.push(i);
    else members.set(idxs[i], [i]);
  }
  const kept = new Uint8Array(idxs.length);
  for (const list of members.values()) {
    const sub = new Float32Array(list.length * 4);
    list.forEach((i, k) => sub.set(boxes.subarray(4 * i, 4 * i + 4), 4 * k));
    const subScores = list.map((i) => scores[i]);
    for (const k of greedyNms(sub, sortByScoreDescending(subScores), thr)) kept[list[k]] = 1;
  }
  const survivors: number[] = [];
  kept.forEach((k, i) => k && survivors.push(i));
  return sortByScoreDescending(scores, survivors);
}
