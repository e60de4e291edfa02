import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, ValueError, assertShape, formatShape } from '../errors.js';
import { boxAreasF32, iouF32 } from './nms.js';

/** How soft-NMS decays the score of a box that overlaps a selected box by IoU `o`. */
export type SoftNmsMethod = 'linear' | 'gaussian' | 'hard';

/** Options of {@link softNms}; defaults follow Bodla et al.'s reference implementation. */
export interface SoftNmsOptions {
  /** Gaussian width σ in `exp(−o²/σ)`. Default 0.5. */
  sigma?: number;
  /** Overlap threshold Nt of the 'linear' and 'hard' methods. Default 0.3. */
  iouThreshold?: number;
  /** Boxes whose (decayed) score falls below this are dropped. Default 0.001. */
  scoreThreshold?: number;
  /** Decay rule. Default 'linear'. */
  method?: SoftNmsMethod;
}

/** Result of {@link softNms}: kept indices and their decayed scores, both [K], caller owns both. */
// A type alias (not an interface) so results can be returned from tf.tidy.
export type SoftNmsResult = {
  /** int32 [K] indices into the input boxes, in selection order (descending decayed score). */
  keep: tf.Tensor1D;
  /** float32 [K] decayed score of each kept box. */
  scores: tf.Tensor1D;
};

const METHODS: readonly SoftNmsMethod[] = ['linear', 'gaussian', 'hard'];

/**
 * Soft-NMS (Bodla et al., "Improving Object Detection With One Line of Code", ICCV 2017, Algorithm 1)
 * on boxes [N,4] (x1,y1,x2,y2, pixels) and scores [N].
 *
 * Repeatedly selects the box M with the highest current score (ties: lowest index) and multiplies the
 * score of every remaining box i by a weight of o = IoU(M, i) (float32, torchvision's formula; NaN
 * counts as no overlap):
 * - 'linear': `1 − o` if `o > iouThreshold`, else 1;
 * - 'gaussian': `exp(−o²/σ)` (the paper's form: σ, not 2σ²);
 * - 'hard': 0 if `o > iouThreshold`, else 1 (classic NMS).
 * A box whose score is below `scoreThreshold` (initially or after a decay) is dropped. Sync: reads the
 * inputs back once. Returns `{ keep, scores }`, caller owns both.
 */
export function softNms(boxes: tf.Tensor2D, scores: tf.Tensor1D, options: SoftNmsOptions = {}): SoftNmsResult {
  const { sigma = 0.5, iouThreshold = 0.3, scoreThreshold = 0.001, method = 'linear' } = options;
  assertShape(boxes, [-1, 4], 'boxes', 'softNms');
  assertShape(scores, [-1], 'scores', 'softNms');
  if (scores.shape[0] !== boxes.shape[0]) {
    throw new ShapeError(`softNms: scores must be [${boxes.shape[0]}] (one per box), got ${formatShape(scores.shape)}`);
  }
  if (!METHODS.includes(method)) {
    throw new ValueError(`softNms: method must be one of ${METHODS.join(', ')}, got "${String(method)}"`);
  }
  if (method === 'gaussian' && !(sigma > 0)) {
    throw new ValueError(`softNms: sigma must be > 0 for the gaussian method, got ${sigma}`);
  }
  const b = Float32Array.from(boxes.dataSync());
  const current = Float32Array.from(scores.dataSync());
  const areas = boxAreasF32(b);
  let active: number[] = [];
  for (let i = 0; i < current.length; i++) if (current[i] >= scoreThreshold) active.push(i);
  const keep: number[] = [];
  const kept: number[] = [];
  while (active.length > 0) {
    let best = 0;
    for (let a = 1; a < active.length; a++) if (current[active[a]] > current[active[best]]) best = a;
    const m = active[best];
    keep.push(m);
    kept.push(current[m]);
    const rest: number[] = [];
    for (const i of active) {
      if (i === m) continue;
      const o = iouF32(b, areas, m, i);
      current[i] = current[i] * decay(o, method, iouThreshold, sigma);
      if (current[i] >= scoreThreshold) rest.push(i);
    }
    active = rest;
  }
  return { keep: tf.tensor1d(keep, 'int32'), scores: tf.tensor1d(kept, 'float32') };
}

function decay(o: number, method: SoftNmsMethod, iouThreshold: number, sigma: number): number {
  if (Number.isNaN(o)) return 1;
  if (method === 'gaussian') return Math.exp(-(o * o) / sigma);
  if (o <= iouThreshold) return 1;
  return method === 'linear' ? 1 - o : 0;
}
