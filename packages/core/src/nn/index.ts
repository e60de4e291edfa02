export { Module, type StateDict, type LoadStateDictOptions, type LoadStateDictResult } from './module.js';
export { identityLayout, conv2dLayout, linearLayout, type TorchLayout } from './layout.js';
export type { Forward, Layer } from './forward.js';
export type { Size2 } from './pair.js';
export { Conv2d, type Conv2dOptions } from './conv2d.js';
export { ConvTranspose2d, type ConvTranspose2dOptions } from './conv-transpose2d.js';
export { Linear, type LinearOptions } from './linear.js';
export { BatchNorm, BatchNorm1d, BatchNorm2d, type BatchNormOptions } from './batch-norm.js';
export { FrozenBatchNorm2d, type FrozenBatchNorm2dOptions } from './frozen-batch-norm2d.js';
export { LayerNorm, type LayerNormOptions } from './layer-norm.js';
export { ReLU } from './relu.js';
export { GELU, type GELUOptions } from './gelu.js';
export { Identity } from './identity.js';
export { Flatten } from './flatten.js';
export { MaxPool2d, type MaxPool2dOptions } from './max-pool2d.js';
export { AvgPool2d, type AvgPool2dOptions } from './avg-pool2d.js';
export { AdaptiveAvgPool2d } from './adaptive-avg-pool2d.js';
export { Dropout, type DropoutOptions } from './dropout.js';
export { DropPath } from './drop-path.js';
export { Sequential } from './sequential.js';
export { ModuleList } from './module-list.js';
export {
  calculateFanInAndFanOut,
  calculateGain,
  kaimingNormal,
  kaimingUniform,
  xavierUniform,
  xavierNormal,
  truncNormal,
  normal,
  uniform,
  zeros,
  ones,
  constant,
  type Nonlinearity,
  type FanMode,
  type KaimingOptions,
  type TruncNormalOptions,
} from './init.js';
export { fuseForInference, type InferenceFusion } from './fuse/fuse-for-inference.js';
