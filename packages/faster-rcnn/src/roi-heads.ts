import * as tf from '@tensorflow/tfjs-core';
import { BoxCoder, Module, ValueError, boxIou, type BoxCoderWeights } from '@residual/core';
import type { Detection, DetectionTarget, Losses } from './detection-types.js';
import type { FastRCNNPredictor } from './fast-rcnn-predictor.js';
import { fastrcnnLoss } from './fastrcnn-loss.js';
import type { MultiScaleRoIAlign } from './multi-scale-roi-align.js';
import { postprocessDetections } from './postprocess-detections.js';
import type { TwoMLPHead } from './two-mlp-head.js';

/**
 * Assigns each proposal a ground-truth index from an IoU matrix [G gt, P proposals]: ≥ 0 matched,
 * −1 below the low threshold, −2 between thresholds (torchvision's `Matcher` contract).
 */
export interface ProposalMatcher {
  match(quality: tf.Tensor2D): Int32Array;
}

/**
 * Picks training RoIs per image from labels (≥ 1 foreground, 0 background, −1 ignored): returns per
 * image 0/1 masks of the chosen positives and negatives (torchvision's `BalancedPositiveNegativeSampler`).
 */
export interface FgBgSampler {
  sample(labels: readonly Int32Array[]): { positive: Uint8Array[]; negative: Uint8Array[] };
}

/** Parts and settings of {@link RoIHeads} (torchvision's arguments, camelCase). */
export interface RoIHeadsOptions {
  boxRoiPool: MultiScaleRoIAlign;
  boxHead: TwoMLPHead | (Module & { forward(x: tf.Tensor4D): tf.Tensor2D });
  boxPredictor: FastRCNNPredictor;
  /** Matches proposals to ground truth (Matcher(fgIouThresh, bgIouThresh, allowLowQualityMatches = false)). */
  proposalMatcher: ProposalMatcher;
  /** Samples training RoIs (BalancedPositiveNegativeSampler(batchSizePerImage, positiveFraction)). */
  fgBgSampler: FgBgSampler;
  /** Default (10, 10, 5, 5). */
  bboxRegWeights?: BoxCoderWeights;
  /** Default 0.05 (strict >). */
  scoreThresh?: number;
  /** Default 0.5. */
  nmsThresh?: number;
  /** Default 100. */
  detectionsPerImg?: number;
}

/**
 * The training RoIs of each image after matching and sampling (all tensors owned by the caller):
 * `proposals[i]` [Si,4] in ascending proposal order (gt boxes appended last), `labels[i]` int32 [Si]
 * (0 = background), `matchedIdxs[i]` int32 [Si] (gt index, 0 for background), `regressionTargets[i]` [Si,4].
 */
export interface TrainingSamples {
  proposals: tf.Tensor2D[];
  labels: tf.Tensor1D[];
  matchedIdxs: tf.Tensor1D[];
  regressionTargets: tf.Tensor2D[];
}

/** What {@link RoIHeads.forwardWithSamples} returns: detections (eval), losses (training) and the samples (training). */
export interface RoIHeadsOutput {
  detections: Detection[];
  losses: Losses;
  samples?: TrainingSamples;
}

// A tensor with the same values but no link to the gradient tape (torch's `.detach()`).
function detach<T extends tf.Tensor>(t: T): T {
  return tf.tensor(t.dataSync(), t.shape, t.dtype) as T;
}

/**
 * torchvision's `RoIHeads` box branch (parity-spec §8): in training, appends the gt boxes to each
 * image's proposals, matches and samples them, pools, runs the box head and predictor, and returns
 * `loss_classifier` and `loss_box_reg`; in eval, returns per-image detections in resized coordinates
 * (score threshold, per-class NMS, top `detectionsPerImg`). Child keys `box_roi_pool`, `box_head`,
 * `box_predictor` (torch's). Mask R-CNN builds on {@link forwardWithSamples}, which also hands back the
 * sampled RoIs (positives and their matched gt indices).
 */
export class RoIHeads extends Module {
  readonly boxRoiPool: MultiScaleRoIAlign;
  readonly boxHead: RoIHeadsOptions['boxHead'];
  readonly boxPredictor: FastRCNNPredictor;
  readonly boxCoder: BoxCoder;
  readonly proposalMatcher: ProposalMatcher;
  readonly fgBgSampler: FgBgSampler;
  scoreThresh: number;
  nmsThresh: number;
  detectionsPerImg: number;

  constructor(options: RoIHeadsOptions) {
    super();
    this.boxRoiPool = this.registerModule('box_roi_pool', options.boxRoiPool);
    this.boxHead = this.registerModule('box_head', options.boxHead);
    this.boxPredictor = this.registerModule('box_predictor', options.boxPredictor);
    this.boxCoder = new BoxCoder(options.bboxRegWeights ?? [10, 10, 5, 5]);
    this.proposalMatcher = options.proposalMatcher;
    this.fgBgSampler = options.fgBgSampler;
    this.scoreThresh = options.scoreThresh ?? 0.05;
    this.nmsThresh = options.nmsThresh ?? 0.5;
    this.detectionsPerImg = options.detectionsPerImg ?? 100;
  }

  /**
   * Runs the box branch on NHWC `features`, `proposals` (one [Pi,4] per image, resized coordinates) and
   * the unpadded `imageSizes`. Training needs `targets` (resized coordinates). Returns
   * `{ detections, losses }` ({} losses in eval, [] detections in training); caller owns every tensor.
   */
  forward(
    features: ReadonlyMap<string, tf.Tensor4D>,
    proposals: readonly tf.Tensor2D[],
    imageSizes: ReadonlyArray<readonly [number, number]>,
    targets?: readonly DetectionTarget[],
  ): { detections: Detection[]; losses: Losses } {
    const { detections, losses, samples } = this.forwardWithSamples(features, proposals, imageSizes, targets);
    if (samples) tf.dispose([...samples.proposals, ...samples.labels, ...samples.matchedIdxs, ...samples.regressionTargets]);
    return { detections, losses };
  }

  /** {@link forward}, also returning the training samples (training only); caller owns them. */
  forwardWithSamples(
    features: ReadonlyMap<string, tf.Tensor4D>,
    proposals: readonly tf.Tensor2D[],
    imageSizes: ReadonlyArray<readonly [number, number]>,
    targets?: readonly DetectionTarget[],
  ): RoIHeadsOutput {
    if (proposals.length !== imageSizes.length) {
      throw new ValueError(`RoIHeads.forward: proposals and imageSizes must have one entry per image, got ${proposals.length} and ${imageSizes.length}`);
    }
    if (!this.training) {
      const detections = tf.tidy(() => {
        const { classLogits, boxRegression } = this.predict(features, proposals, imageSizes);
        return postprocessDetections(classLogits, boxRegression, proposals, imageSizes, {
          boxCoder: this.boxCoder, scoreThresh: this.scoreThresh, nmsThresh: this.nmsThresh, detectionsPerImg: this.detectionsPerImg,
        });
      });
      return { detections, losses: {} };
    }
    if (!targets || targets.length !== proposals.length) {
      throw new ValueError(`RoIHeads.forward: training needs one target per image (${proposals.length}), got ${targets ? targets.length : 'none'}`);
    }
    const samples = this.selectTrainingSamples(proposals, targets);
    const losses = tf.tidy(() => {
      const { classLogits, boxRegression } = this.predict(features, samples.proposals, imageSizes);
      const loss = fastrcnnLoss(classLogits, boxRegression, tf.concat(samples.labels) as tf.Tensor1D, tf.concat(samples.regressionTargets) as tf.Tensor2D);
      return { loss_classifier: loss.loss_classifier, loss_box_reg: loss.loss_box_reg };
    });
    return { detections: [], losses, samples };
  }

  /**
   * torchvision's `select_training_samples`: gt boxes appended to the proposals, IoU matching
   * (−1 → background 0, −2 → ignored −1), sampling, then the kept RoIs in ascending index order with
   * their labels, matched gt indices and encoded regression targets. Proposals are detached (no gradient).
   */
  selectTrainingSamples(proposals: readonly tf.Tensor2D[], targets: readonly DetectionTarget[]): TrainingSamples {
    const all = proposals.map((p, i) => tf.tidy(() => tf.concat([detach(p), targets[i].boxes]) as tf.Tensor2D));
    try {
      const matched: Int32Array[] = [];
      const labels: Int32Array[] = [];
      all.forEach((props, i) => {
        const [m, l] = this.assignTargets(props, targets[i]);
        matched.push(m);
        labels.push(l);
      });
      const { positive, negative } = this.fgBgSampler.sample(labels);
      const out: TrainingSamples = { proposals: [], labels: [], matchedIdxs: [], regressionTargets: [] };
      all.forEach((props, i) => {
        const keep: number[] = [];
        for (let j = 0; j < labels[i].length; j++) if (positive[i][j] || negative[i][j]) keep.push(j);
        tf.tidy(() => {
          const idx = tf.tensor1d(keep, 'int32');
          const sampled = tf.gather(props, idx) as tf.Tensor2D;
          const matchedIdx = tf.tensor1d(keep.map((j) => matched[i][j]), 'int32');
          const gt = targets[i].boxes.shape[0] === 0 ? tf.zeros([1, 4]) : targets[i].boxes;
          const targetsEncoded = this.boxCoder.encode(tf.gather(gt, matchedIdx) as tf.Tensor2D, sampled);
          const kept = [sampled, tf.tensor1d(keep.map((j) => labels[i][j]), 'int32'), matchedIdx, targetsEncoded];
          kept.forEach((t) => tf.keep(t)); // owned by the returned TrainingSamples
          out.proposals.push(sampled);
          out.labels.push(kept[1] as tf.Tensor1D);
          out.matchedIdxs.push(matchedIdx);
          out.regressionTargets.push(targetsEncoded);
        });
      });
      return out;
    } finally {
      tf.dispose(all);
    }
  }

  // assign_targets_to_proposals for one image: [clamped matched gt index, label] per proposal.
  private assignTargets(proposals: tf.Tensor2D, target: DetectionTarget): [Int32Array, Int32Array] {
    const n = proposals.shape[0];
    if (target.boxes.shape[0] === 0) return [new Int32Array(n), new Int32Array(n)];
    const quality = boxIou(target.boxes, proposals);
    let matches: Int32Array;
    try {
      matches = this.proposalMatcher.match(quality);
    } finally {
      quality.dispose();
    }
    const gtLabels = target.labels.dataSync();
    const clamped = new Int32Array(n);
    const labels = new Int32Array(n);
    for (let j = 0; j < n; j++) {
      const m = matches[j];
      clamped[j] = m < 0 ? 0 : m;
      labels[j] = m === -1 ? 0 : m === -2 ? -1 : gtLabels[m];
    }
    return [clamped, labels];
  }

  private predict(
    features: ReadonlyMap<string, tf.Tensor4D>,
    proposals: readonly tf.Tensor2D[],
    imageSizes: ReadonlyArray<readonly [number, number]>,
  ): { classLogits: tf.Tensor2D; boxRegression: tf.Tensor2D } {
    const pooled = this.boxRoiPool.forward(features, proposals, imageSizes); // [R,7,7,C]
    return this.boxPredictor.forward(this.boxHead.forward(pooled)); // [R,C'], [R,4C']
  }
}
