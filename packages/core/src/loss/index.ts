export type { Reduction, ReductionOptions } from './reduction.js';
export { crossEntropy, type CrossEntropyOptions } from './cross-entropy.js';
export {
  binaryCrossEntropyWithLogits,
  type BinaryCrossEntropyWithLogitsOptions,
} from './binary-cross-entropy-with-logits.js';
export { smoothL1Loss, type SmoothL1LossOptions } from './smooth-l1-loss.js';
export { l1Loss } from './l1-loss.js';
export { mseLoss } from './mse-loss.js';
