import * as tf from '@tensorflow/tfjs-core';
import { BoxCoder, Module, ShapeError, ValueError, assertShape, formatShape, type Generator } from '@residual/core';
import type { AnchorGenerator } from './anchor-generator.js';
import { BalancedPositiveNegativeSampler, type SampledMasks } from './balanced-positive-negative-sampler.js';
import { filterProposals } from './filter-proposals.js';
import type { ImageBatch } from './image-batch.js';
import { Matcher } from './matcher.js';
import type { RPNHead } from './rpn-head.js';
import { assignTargetsToAnchors, rpnLoss, type RPNLosses } from './rpn-loss.js';

/** A value for training and one for testing (torchvision's `{'training': …, 'testing': …}`). */
export interface TrainTest {
  training: number;
  testing: number;
}

/** Anything that samples per-image labels into positive/negative masks (the sampler, or a test double). */
export interface PositiveNegativeSampler {
  sample(labels: readonly ArrayLike<number>[]): SampledMasks;
}

/** Options of {@link RegionProposalNetwork} (torchvision's arguments, camelCase, with its defaults). */
export interface RegionProposalNetworkOptions {
  anchorGenerator: AnchorGenerator;
  head: RPNHead;
  // Training
  fgIouThresh?: number;
  bgIouThresh?: number;
  batchSizePerImage?: number;
  positiveFraction?: number;
  // Proposals
  /** Default { training: 2000, testing: 1000 }. */
  preNmsTopN?: TrainTest;
  /** Default { training: 2000, testing: 1000 }. */
  postNmsTopN?: TrainTest;
  nmsThresh?: number;
  scoreThresh?: number;
  /** Source of the sampler's permutations (default: the process-wide generator). */
  generator?: Generator;
  /** Replaces the BalancedPositiveNegativeSampler (parity tests inject torch's permutations). */
  sampler?: PositiveNegativeSampler;
}

/** Ground truth of one image for RPN training: boxes [K,4] (x1,y1,x2,y2, batch pixels); K may be 0. */
export interface RPNTarget {
  boxes: tf.Tensor2D;
}

/** Output of {@link RegionProposalNetwork.forward}; the caller owns every tensor. */
export interface RPNOutput {
  /** Per image [K,4] proposals (x1,y1,x2,y2, batch pixels), descending objectness. */
  proposals: tf.Tensor2D[];
  /** `{ loss_objectness, loss_rpn_box_reg }` in training mode, `{}` in eval mode. */
  losses: Partial<RPNLosses>;
}

/**
 * torchvision 0.14's `RegionProposalNetwork`: head → anchors → decode (BoxCoder(1,1,1,1)) →
 * {@link filterProposals} (proposals carry no gradient, as torchvision's detached deltas); in training also Matcher(fg, bg, low-quality matches) →
 * sampler → {@link rpnLoss}. Child `head` (keys `head.*`). Sync and differentiable (training runs
 * inside tf.variableGrads); selections are read back to the CPU and applied with gathers.
 */
export class RegionProposalNetwork extends Module {
  readonly anchorGenerator: AnchorGenerator;
  readonly head: RPNHead;
  readonly boxCoder = new BoxCoder([1, 1, 1, 1]);
  readonly proposalMatcher: Matcher;
  readonly fgBgSampler: PositiveNegativeSampler;
  readonly preNmsTopN: TrainTest;
  readonly postNmsTopN: TrainTest;
  readonly nmsThresh: number;
  readonly scoreThresh: number;
  readonly minSize = 1e-3;

  constructor(options: RegionProposalNetworkOptions) {
    super();
    this.anchorGenerator = options.anchorGenerator;
    this.head = this.registerModule('head', options.head);
    this.proposalMatcher = new Matcher(options.fgIouThresh ?? 0.7, options.bgIouThresh ?? 0.3, true);
    this.fgBgSampler =
      options.sampler ??
      new BalancedPositiveNegativeSampler(options.batchSizePerImage ?? 256, options.positiveFraction ?? 0.5, options.generator);
    this.preNmsTopN = { ...(options.preNmsTopN ?? { training: 2000, testing: 1000 }) };
    this.postNmsTopN = { ...(options.postNmsTopN ?? { training: 2000, testing: 1000 }) };
    for (const [name, v] of [['preNmsTopN', this.preNmsTopN], ['postNmsTopN', this.postNmsTopN]] as const) {
      if (![v.training, v.testing].every((n) => Number.isInteger(n) && n >= 0)) {
        throw new ValueError(`RegionProposalNetwork: ${name} must be non-negative integers, got ${JSON.stringify(v)}`);
      }
    }
    this.nmsThresh = options.nmsThresh ?? 0.7;
    this.scoreThresh = options.scoreThresh ?? 0;
  }

  /**
   * Proposals for `images` (padded batch [N,Hb,Wb,C] + unpadded sizes) from `features` (NHWC maps,
   * one per anchor level, in pyramid order); in training mode `targets` (one per image) are required
   * and the losses are returned. Inputs are kept; the caller owns every returned tensor.
   */
  forward(images: ImageBatch, features: ReadonlyMap<string, tf.Tensor4D>, targets?: readonly RPNTarget[]): RPNOutput {
    const maps = [...features.values()];
    this.checkInputs(images, maps, targets);
    const n = images.tensor.shape[0];
    // Cast: tidy's container type has no named-record form; it keeps every tensor in the result.
    return tf.tidy(() => this.run(images, maps, n, targets) as unknown as tf.TensorContainer) as unknown as RPNOutput;
  }

  private run(images: ImageBatch, maps: tf.Tensor4D[], n: number, targets?: readonly RPNTarget[]): RPNOutput {
    const { logits, bboxReg } = this.head.forward(maps);
    const anchors = this.anchorGenerator.forward(images, maps); // [A,4], same for every image
    const numAnchorsPerLevel = logits.map((l) => l.shape[1] * l.shape[2] * l.shape[3]);
    const a = anchors.shape[0];
    // NHWC flattening is (y, x, anchor) order, as torchvision's permute_and_flatten.
    const objectness = tf.concat(logits.map((l) => tf.reshape(l, [n, -1])), 1) as tf.Tensor2D; // [N,A]
    const deltas = tf.concat(bboxReg.map((d) => tf.reshape(d, [n, -1, 4])), 1) as tf.Tensor3D; // [N,A,4]
    const decoded = this.boxCoder.decode(
      tf.reshape(deltas, [n * a, 4]) as tf.Tensor2D,
      tf.reshape(tf.tile(tf.expandDims(anchors, 0), [n, 1, 1]), [n * a, 4]) as tf.Tensor2D,
    );
    const mode = this.training ? 'training' : 'testing';
    const { boxes, scores } = filterProposals(
      tf.reshape(decoded, [n, a, 4]) as tf.Tensor3D,
      objectness,
      images.imageSizes,
      numAnchorsPerLevel,
      {
        preNmsTopN: this.preNmsTopN[mode],
        postNmsTopN: this.postNmsTopN[mode],
        nmsThresh: this.nmsThresh,
        scoreThresh: this.scoreThresh,
        minSize: this.minSize,
      },
    );
    tf.dispose(scores);
    if (!this.training || !targets) return { proposals: boxes, losses: {} };
    const assigned = assignTargetsToAnchors(anchors, targets.map((t) => t.boxes), this.proposalMatcher);
    const sampled = this.fgBgSampler.sample(assigned.labels);
    const losses = rpnLoss(
      tf.reshape(objectness, [-1]) as tf.Tensor1D,
      tf.reshape(deltas, [-1, 4]) as tf.Tensor2D,
      anchors,
      assigned,
      sampled,
      this.boxCoder,
    );
    return { proposals: boxes, losses };
  }

  /** Frees the head's parameters and the anchor generator's cached grids. */
  override dispose(): void {
    super.dispose();
    this.anchorGenerator.dispose();
  }

  private checkInputs(images: ImageBatch, maps: tf.Tensor4D[], targets?: readonly RPNTarget[]): void {
    const where = 'RegionProposalNetwork.forward';
    if (images.tensor.rank !== 4) {
      throw new ShapeError(`${where}: images.tensor must be NHWC [N,H,W,C], got ${formatShape(images.tensor.shape)}`);
    }
    const n = images.tensor.shape[0];
    if (images.imageSizes.length !== n) {
      throw new ShapeError(`${where}: images.imageSizes must have one [h, w] per image (${n}), got ${images.imageSizes.length}`);
    }
    maps.forEach((m, i) => {
      if (m.rank !== 4 || m.shape[0] !== n) {
        throw new ShapeError(`${where}: feature map ${i} must be NHWC [${n},H,W,C], got ${formatShape(m.shape)}`);
      }
    });
    if (!this.training) return;
    if (!targets) throw new ValueError(`${where}: targets are required in training mode`);
    if (targets.length !== n) throw new ValueError(`${where}: targets must have one entry per image (${n}), got ${targets.length}`);
    targets.forEach((t, i) => assertShape(t.boxes, [-1, 4], `targets[${i}].boxes`, where));
  }
}
