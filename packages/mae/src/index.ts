export { patchify, unpatchify } from './patchify.js';
export { randomMasking, type RandomMaskingResult } from './random-masking.js';
export { maeLoss } from './mae-loss.js';
export {
  MaskedAutoencoderViT,
  type MaskedAutoencoderConfig,
  type MaeForwardOptions,
  type MaeOutput,
  type MaeEncoderOutput,
  type MaeModelConfig,
} from './masked-autoencoder.js';
export {
  maeVitBasePatch16,
  maeVitLargePatch16,
  maeVitHugePatch14,
  maeVitTestPatch8,
  type MaeBuilderOptions,
} from './mae-builders.js';
export { maePretrainParamGroups, type WeightDecayGroup } from './pretrain-param-groups.js';
export { MaePretrainer, NonFiniteLossError, type MaePretrainerOptions, type MaePretrainStep } from './pretrainer.js';
export {
  MAE_CHECKPOINT_FORMAT,
  encodeMaeCheckpoint,
  decodeMaeCheckpoint,
  disposeMaeCheckpoint,
  type MaeCheckpoint,
  type MaeCheckpointFiles,
  type MaeCheckpointStore,
  type MaeScheduleRecord,
} from './mae-checkpoint.js';
export { paramGroupsLrd, layerIdForVit, type LrdParamGroup, type ParamGroupsLrdOptions } from './param-groups-lrd.js';
export { unwrapStateDict, type StateDictSource } from './unwrap-state-dict.js';
export {
  loadMaeEncoder,
  loadMaePretrained,
  type LoadMaeEncoderOptions,
  type LoadMaeEncoderResult,
} from './load-mae-checkpoint.js';
export { reconstruct, type Reconstruction, type ReconstructOptions } from './reconstruct.js';
export { renderReconstructionGrid, type ReconstructionGridOptions, type RgbImage } from './reconstruction-grid.js';
export { LARS, type LARSOptions } from './lars.js';
export {
  LinearProbe,
  linearProbeHead,
  freezeForLinearProbe,
  type LinearProbeHeadOptions,
  type LinearProbeStep,
} from './linear-probe.js';
