export { CocoEvaluator, type CocoEvaluation, type CocoStats, type CategoryResult } from './coco-evaluator.js';
export { CocoGroundTruth, type GroundTruthAnnotation } from './coco-ground-truth.js';
export { loadResults, type CocoDetection } from './load-results.js';
export { type EvaluateOptions, type EvalParams, AREA_RANGE_LABELS } from './eval-params.js';
export type { NdArray } from './accumulate.js';
export type { CocoDatasetJson, CocoImage, CocoAnnotation, CocoCategory, CocoResult, IouType } from './coco-types.js';
