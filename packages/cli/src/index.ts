export { run, COMMANDS } from './run.js';
export { UsageError, type CliIo, type CliStream, type Command, type CommandContext, type CommonFlags } from './command.js';
export { readTorchCheckpoint, type RawTensor, type TorchCheckpoint } from './torch-checkpoint.js';
export { loadWeights, type LoadedWeights } from './load-weights.js';
export { convertTensors, type ConvertDtype, type ConvertOptions, type ConvertedEntry, type RenameRule } from './convert-command.js';
export { classificationTransform, resizedShortSide, type ClassificationTransformOptions } from './classification-transform.js';
export {
  CLASSIFIERS,
  BACKBONES,
  DETECTORS,
  DETECTOR_ARCHS,
  type DetectorArch,
  type DetectorBuilder,
  type DetectorBuildOptions,
} from './arch-table.js';
export { detectionSchedule, type DetectionScheduleOptions, type EpochSchedule } from './detection-schedule.js';
export { saveCheckpoint, loadCheckpoint, latestCheckpoint, epochDirName, type TrainState, type LoadedCheckpoint } from './checkpoint.js';
export { trainDetector, DivergenceError, type TrainOptions, type TrainHooks, type TrainReport, type IterationRecord } from './train-loop.js';
export { evaluateDetector, type DetectorEvaluation } from './evaluate-detector.js';
export { listImages, shardImages, parseShard, type Shard, type ListedImage } from './image-list.js';
export { drawDetections, labelColour, type DrawableDetections } from './draw-detections.js';
export { curvesSvg, curvesPng, movingAverage, type Curve, type CurveChartOptions } from './loss-curve.js';
