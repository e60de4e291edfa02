export { BasicBlock } from './basic-block.js';
export { Bottleneck } from './bottleneck.js';
export { conv1x1, conv3x3, type Conv3x3Options } from './resnet-convs.js';
export type {
  Layer4D,
  NormLayer,
  NormLayerFactory,
  ResidualBlock,
  ResidualBlockClass,
  ResidualBlockOptions,
} from './residual-block.js';
export { ResNet, type FeatureShape, type ResNetFeatures, type ResNetOptions, type ResNetStage } from './resnet.js';
export {
  resnet18,
  resnet34,
  resnet50,
  resnet101,
  resnet152,
  resnext50_32x4d,
  resnext101_32x8d,
  resnext101_64x4d,
  wideResnet50_2,
  wideResnet101_2,
  resnetByName,
  RESNET_BUILDERS,
  type ResNetBuilderOptions,
  type ResNetName,
} from './resnet-builders.js';
export { CifarBasicBlock, type CifarBasicBlockOptions, type CifarShortcut } from './cifar-block.js';
export { CifarResNet, cifarResnet, type CifarResNetOptions } from './cifar-resnet.js';
