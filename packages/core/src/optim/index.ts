export {
  Optimizer,
  type Gradients,
  type GroupParams,
  type HyperValue,
  type OptimizerState,
  type ParamGroup,
  type ParamState,
} from './optimizer.js';
export { SGD, type SGDOptions } from './sgd.js';
export { AdamW, type AdamOptions } from './adamw.js';
export { Adam } from './adam.js';
export type { AdamHyper } from './adam-update.js';
export { clipGradNorm, type ClipGradNormOptions } from './clip-grad-norm.js';
export {
  stepLR,
  multiStepLR,
  cosineAnnealingLR,
  linearWarmup,
  warmupCosine,
  oneCycleLR,
  warmupMultiStep,
  type OneCycleLROptions,
} from './lr-schedule.js';
export { LRScheduler, type LrSchedule, type LRSchedulerState } from './lr-scheduler.js';
