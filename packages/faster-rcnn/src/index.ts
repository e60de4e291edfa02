export type { Detection, DetectionTarget, ImageList, LossName, Losses } from './detection-types.js';
export {
  GeneralizedRCNNTransform,
  type GeneralizedRCNNTransformOptions,
  type TransformOutput,
} from './generalized-rcnn-transform.js';
export { resizedSize, resizeBilinear, resizeNearestMasks, bilinearAxisPlan, type BilinearAxisPlan } from './resize-image.js';
export { MultiScaleRoIAlign, mapLevels, type MultiScaleRoIAlignOptions } from './multi-scale-roi-align.js';
export { TwoMLPHead } from './two-mlp-head.js';
export { FastRCNNPredictor, type BoxPredictions } from './fast-rcnn-predictor.js';
export { fastrcnnLoss, type FastRCNNLosses } from './fastrcnn-loss.js';
export { postprocessDetections, type PostprocessDetectionsOptions } from './postprocess-detections.js';
export {
  RoIHeads,
  type RoIHeadsOptions,
  type RoIHeadsOutput,
  type TrainingSamples,
  type ProposalMatcher,
  type FgBgSampler,
} from './roi-heads.js';
export { FasterRCNN, type FasterRCNNOptions, type FasterRCNNPartFactories } from './faster-rcnn.js';
export { fasterrcnnResnet50Fpn, fasterrcnnResnetFpn, type FasterRCNNResnetFpnOptions } from './faster-rcnn-builders.js';
export { GeneralizedRCNN, type DetectorEngine, type ProposalGenerator, type DetectionHeads, type RCNNOutput } from './generalized-rcnn.js';
export { trainStep, type TrainStepOptions } from './train-step.js';
export { inferNumClasses } from './infer-num-classes.js';
