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
