import { ValueError, defaultGenerator, type BoxCoderWeights, type Generator, type Module } from '@residual/core';
import type { Backbone } from '@residual/fpn';
import {
  AnchorGenerator,
  BalancedPositiveNegativeSampler,
  Matcher,
  RPNHead,
  RegionProposalNetwork,
  type PositiveNegativeSampler,
} from '@residual/rpn';
import { FastRCNNPredictor } from './fast-rcnn-predictor.js';
import { GeneralizedRCNN } from './generalized-rcnn.js';
import { GeneralizedRCNNTransform, type GeneralizedRCNNTransformOptions } from './generalized-rcnn-transform.js';
import { MultiScaleRoIAlign } from './multi-scale-roi-align.js';
import { RoIHeads, type FgBgSampler, type ProposalMatcher, type RoIHeadsOptions } from './roi-heads.js';
import { TwoMLPHead } from './two-mlp-head.js';

/**
 * Options of {@link FasterRCNN}: torchvision's `FasterRCNN` arguments in camelCase, with its defaults
 * (parity-spec §10.3). Parts passed in (`rpnAnchorGenerator`, `rpnHead`, `boxRoiPool`, `boxHead`,
 * `boxPredictor`) are adopted by the model: its `dispose()` frees them.
 */
export interface FasterRCNNOptions {
  /** Classes including background (COCO: 91); required unless `boxPredictor` is given, and then it must be omitted. */
  numClasses?: number;
  // Transform
  /** Short side after resizing; a list draws one per image in training (eval uses the last). Default 800. */
  minSize?: number | readonly number[];
  /** Upper bound on the long side. Default 1333. */
  maxSize?: number;
  /** Default ImageNet [0.485, 0.456, 0.406]. */
  imageMean?: readonly [number, number, number];
  /** Default ImageNet [0.229, 0.224, 0.225]. */
  imageStd?: readonly [number, number, number];
  // RPN
  /** Default sizes (32), (64), (128), (256), (512) with ratios (0.5, 1, 2) on each of 5 levels. */
  rpnAnchorGenerator?: AnchorGenerator;
  /** Default RPNHead(backbone.outChannels, anchors per location of level 0). */
  rpnHead?: RPNHead;
  /** Default 2000. */
  rpnPreNmsTopNTrain?: number;
  /** Default 1000. */
  rpnPreNmsTopNTest?: number;
  /** Default 2000. */
  rpnPostNmsTopNTrain?: number;
  /** Default 1000. */
  rpnPostNmsTopNTest?: number;
  /** Default 0.7. */
  rpnNmsThresh?: number;
  /** Default 0.7. */
  rpnFgIouThresh?: number;
  /** Default 0.3. */
  rpnBgIouThresh?: number;
  /** Default 256. */
  rpnBatchSizePerImage?: number;
  /** Default 0.5. */
  rpnPositiveFraction?: number;
  /** Default 0 (proposals with objectness ≥ thresh are kept). */
  rpnScoreThresh?: number;
  // Box branch
  /** Default MultiScaleRoIAlign(['0','1','2','3'], 7, 2). */
  boxRoiPool?: MultiScaleRoIAlign;
  /** Default TwoMLPHead(backbone.outChannels · r · r, 1024), r = boxRoiPool.outputSize[0]. */
  boxHead?: RoIHeadsOptions['boxHead'];
  /** Default FastRCNNPredictor(1024, numClasses). */
  boxPredictor?: FastRCNNPredictor;
  /** Default 0.05 (detections with score > thresh are kept). */
  boxScoreThresh?: number;
  /** Default 0.5 (per-class NMS). */
  boxNmsThresh?: number;
  /** Default 100. */
  boxDetectionsPerImg?: number;
  /** Default 0.5. */
  boxFgIouThresh?: number;
  /** Default 0.5. */
  boxBgIouThresh?: number;
  /** Default 512. */
  boxBatchSizePerImage?: number;
  /** Default 0.25. */
  boxPositiveFraction?: number;
  /** Default (10, 10, 5, 5). */
  bboxRegWeights?: BoxCoderWeights;
  /** Source of random init, both samplers and the training min-size draw (default: the process-wide generator). */
  generator?: Generator;
}

/**
 * How a subclass of {@link FasterRCNN} (Mask R-CNN) builds two of its parts in place of the defaults,
 * so that every part exists once: each factory gets the options FasterRCNN resolved (defaults applied,
 * box-branch parts built or adopted) and returns the part to register. A factory that throws disposes
 * what it created itself; FasterRCNN then disposes the parts it built.
 */
export interface FasterRCNNPartFactories {
  /** Builds `roi_heads` from the box branch's options (default: `new RoIHeads(options)`). */
  roiHeads?: (options: RoIHeadsOptions) => RoIHeads;
  /** Builds `transform` (default: `new GeneralizedRCNNTransform(options)`). */
  transform?: (options: GeneralizedRCNNTransformOptions) => GeneralizedRCNNTransform;
}

/** torchvision's RoIHeads matcher: Matcher(fg, bg, allow_low_quality_matches = false). */
function roiMatcher(fg: number, bg: number): ProposalMatcher {
  const m = new Matcher(fg, bg, false);
  return { match: (quality) => m.matchArray(quality.dataSync(), quality.shape[0], quality.shape[1]) };
}

function roiSampler(sampler: PositiveNegativeSampler): FgBgSampler {
  return { sample: (labels) => sampler.sample(labels) };
}

function checkOptions(backbone: Backbone, o: FasterRCNNOptions): void {
  if (o.boxPredictor && o.numClasses !== undefined) {
    throw new ValueError(`FasterRCNN: numClasses should be undefined when boxPredictor is specified, got ${o.numClasses}`);
  }
  if (!o.boxPredictor && o.numClasses === undefined) {
    throw new ValueError('FasterRCNN: numClasses should not be undefined when boxPredictor is not specified');
  }
  if (o.numClasses !== undefined && (!Number.isInteger(o.numClasses) || o.numClasses < 1)) {
    throw new ValueError(`FasterRCNN: numClasses must be a positive integer (background included), got ${o.numClasses}`);
  }
  if (!Number.isInteger(backbone.outChannels) || backbone.outChannels < 1) {
    throw new ValueError(`FasterRCNN: backbone.outChannels must be a positive integer, got ${String(backbone.outChannels)}`);
  }
}

// The parts of FasterRCNN; on a failure every part built here (not the ones passed in) is disposed.
function buildParts(backbone: Backbone, o: FasterRCNNOptions, factories: FasterRCNNPartFactories): {
  transform: GeneralizedRCNNTransform;
  rpn: RegionProposalNetwork;
  roiHeads: RoIHeads;
} {
  const created: Array<{ dispose(): void }> = [];
  const own = <T extends { dispose(): void }>(part: T): T => {
    created.push(part);
    return part;
  };
  const generator = o.generator ?? defaultGenerator();
  // The transform first: it holds no tensors, so a later failure has nothing of it to free.
  const transformOptions: GeneralizedRCNNTransformOptions = {
    minSize: o.minSize ?? 800,
    maxSize: o.maxSize ?? 1333,
    imageMean: o.imageMean,
    imageStd: o.imageStd,
    generator,
  };
  const transform = factories.transform ? factories.transform(transformOptions) : new GeneralizedRCNNTransform(transformOptions);
  try {
    const anchorGenerator = o.rpnAnchorGenerator ?? own(new AnchorGenerator());
    const rpnHead = o.rpnHead ?? own(new RPNHead(backbone.outChannels, anchorGenerator.numAnchorsPerLocation()[0], 1, { generator }));
    const rpn = new RegionProposalNetwork({
      anchorGenerator,
      head: rpnHead,
      fgIouThresh: o.rpnFgIouThresh ?? 0.7,
      bgIouThresh: o.rpnBgIouThresh ?? 0.3,
      batchSizePerImage: o.rpnBatchSizePerImage ?? 256,
      positiveFraction: o.rpnPositiveFraction ?? 0.5,
      preNmsTopN: { training: o.rpnPreNmsTopNTrain ?? 2000, testing: o.rpnPreNmsTopNTest ?? 1000 },
      postNmsTopN: { training: o.rpnPostNmsTopNTrain ?? 2000, testing: o.rpnPostNmsTopNTest ?? 1000 },
      nmsThresh: o.rpnNmsThresh ?? 0.7,
      scoreThresh: o.rpnScoreThresh ?? 0,
      generator,
    });
    const boxRoiPool = o.boxRoiPool ?? own(new MultiScaleRoIAlign(['0', '1', '2', '3'], 7, 2));
    const resolution = boxRoiPool.outputSize[0];
    const boxHead = o.boxHead ?? own(new TwoMLPHead(backbone.outChannels * resolution * resolution, 1024, { generator }));
    const boxPredictor = o.boxPredictor ?? own(new FastRCNNPredictor(1024, o.numClasses as number, { generator }));
    const boxSampler = new BalancedPositiveNegativeSampler(o.boxBatchSizePerImage ?? 512, o.boxPositiveFraction ?? 0.25, generator);
    const roiHeadsOptions: RoIHeadsOptions = {
      boxRoiPool,
      boxHead,
      boxPredictor,
      proposalMatcher: roiMatcher(o.boxFgIouThresh ?? 0.5, o.boxBgIouThresh ?? 0.5),
      fgBgSampler: roiSampler(boxSampler),
      bboxRegWeights: o.bboxRegWeights,
      scoreThresh: o.boxScoreThresh ?? 0.05,
      nmsThresh: o.boxNmsThresh ?? 0.5,
      detectionsPerImg: o.boxDetectionsPerImg ?? 100,
    };
    const roiHeads = factories.roiHeads ? factories.roiHeads(roiHeadsOptions) : new RoIHeads(roiHeadsOptions);
    return { transform, rpn, roiHeads };
  } catch (e) {
    for (const part of created) part.dispose();
    throw e;
  }
}

/**
 * torchvision's `FasterRCNN(backbone, num_classes, …)`: a {@link GeneralizedRCNN}(transform, backbone,
 * rpn, roiHeads) whose parts are built from `options` wherever one is not passed in — transform
 * (min 800 / max 1333, ImageNet mean/std), AnchorGenerator ((32,), …, (512,)) × (0.5, 1, 2), RPNHead,
 * RegionProposalNetwork (pre-NMS 2000/1000, post-NMS 2000/1000, NMS 0.7, IoU 0.7/0.3, 256 per image at
 * 0.5), MultiScaleRoIAlign(['0','1','2','3'], 7, 2), TwoMLPHead(C·7·7, 1024), FastRCNNPredictor(1024,
 * numClasses) and RoIHeads (IoU 0.5/0.5, 512 at 0.25, score 0.05, NMS 0.5, 100 detections).
 * Any `backbone` with `outChannels` and an ordered feature map (one level per anchor-size entry) composes.
 * The model owns `backbone` and every part: `dispose()` frees them. State-dict keys are torchvision's
 * (`backbone.*`, `rpn.head.*`, `roi_heads.box_head.*`, `roi_heads.box_predictor.*`).
 * Throws ValueError for numClasses together with boxPredictor, or neither.
 */
export class FasterRCNN extends GeneralizedRCNN {
  /** The region proposal network (`rpn.*` keys; its `anchorGenerator` caches grids, freed by dispose). */
  declare readonly rpn: RegionProposalNetwork;
  /** The box branch (`roi_heads.*` keys). */
  declare readonly roiHeads: RoIHeads;

  /**
   * Builds the detector around `backbone` (adopted). `factories` is for subclasses that specialise
   * `roi_heads` or `transform` (Mask R-CNN); plain use leaves it out.
   */
  constructor(backbone: Backbone & Module, options: FasterRCNNOptions = {}, factories: FasterRCNNPartFactories = {}) {
    checkOptions(backbone, options);
    const { transform, rpn, roiHeads } = buildParts(backbone, options, factories);
    super(transform, backbone, rpn, roiHeads);
  }
}
