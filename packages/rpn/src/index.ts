export type { ImageBatch } from './image-batch.js';
export { AnchorGenerator, cellAnchors } from './anchor-generator.js';
export { RPNHead, type RPNHeadOutput } from './rpn-head.js';
export { Matcher } from './matcher.js';
export {
  BalancedPositiveNegativeSampler,
  type SampledMasks,
  type SamplerPermutations,
} from './balanced-positive-negative-sampler.js';
export { filterProposals, type FilterProposalsOptions, type FilteredProposals } from './filter-proposals.js';
export { assignTargetsToAnchors, rpnLoss, type AnchorTargets, type RPNLosses } from './rpn-loss.js';
export {
  RegionProposalNetwork,
  type PositiveNegativeSampler,
  type RPNOutput,
  type RPNTarget,
  type RegionProposalNetworkOptions,
  type TrainTest,
} from './region-proposal-network.js';
