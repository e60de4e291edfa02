import { ValueError } from '@residual/core';
import { BasicBlock } from './basic-block.js';
import { Bottleneck } from './bottleneck.js';
import { ResNet, type ResNetOptions } from './resnet.js';

// torchvision 0.14's named ResNets: each fixes the block, the blocks per stage and, for ResNeXt and
// Wide ResNets, groups/widthPerGroup. Random init only (load weights with `loadStateDict`).

/** Options of the named builders: everything of {@link ResNetOptions} except what the name fixes. */
export type ResNetBuilderOptions = Omit<ResNetOptions, 'groups' | 'widthPerGroup'>;

/** Names of the torchvision ResNets, as typed strings for CLIs and configs. */
export type ResNetName =
  | 'resnet18'
  | 'resnet34'
  | 'resnet50'
  | 'resnet101'
  | 'resnet152'
  | 'resnext50_32x4d'
  | 'resnext101_32x8d'
  | 'resnext101_64x4d'
  | 'wide_resnet50_2'
  | 'wide_resnet101_2';

/** ResNet-18: BasicBlock [2,2,2,2]; 11.7M parameters with 1000 classes. */
export function resnet18(options: ResNetBuilderOptions = {}): ResNet {
  return new ResNet(BasicBlock, [2, 2, 2, 2], options);
}

/** ResNet-34: BasicBlock [3,4,6,3]. */
export function resnet34(options: ResNetBuilderOptions = {}): ResNet {
  return new ResNet(BasicBlock, [3, 4, 6, 3], options);
}

/** ResNet-50 (v1.5): Bottleneck [3,4,6,3]; 25.6M parameters with 1000 classes. */
export function resnet50(options: ResNetBuilderOptions = {}): ResNet {
  return new ResNet(Bottleneck, [3, 4, 6, 3], options);
}

/** ResNet-101: Bottleneck [3,4,23,3]. */
export function resnet101(options: ResNetBuilderOptions = {}): ResNet {
  return new ResNet(Bottleneck, [3, 4, 23, 3], options);
}

/** ResNet-152: Bottleneck [3,8,36,3]. */
export function resnet152(options: ResNetBuilderOptions = {}): ResNet {
  return new ResNet(Bottleneck, [3, 8, 36, 3], options);
}

/** ResNeXt-50 32×4d: Bottleneck [3,4,6,3], 32 groups of width 4. */
export function resnext50_32x4d(options: ResNetBuilderOptions = {}): ResNet {
  return new ResNet(Bottleneck, [3, 4, 6, 3], { ...options, groups: 32, widthPerGroup: 4 });
}

/** ResNeXt-101 32×8d: Bottleneck [3,4,23,3], 32 groups of width 8. */
export function resnext101_32x8d(options: ResNetBuilderOptions = {}): ResNet {
  return new ResNet(Bottleneck, [3, 4, 23, 3], { ...options, groups: 32, widthPerGroup: 8 });
}

/** ResNeXt-101 64×4d: Bottleneck [3,4,23,3], 64 groups of width 4. */
export function resnext101_64x4d(options: ResNetBuilderOptions = {}): ResNet {
  return new ResNet(Bottleneck, [3, 4, 23, 3], { ...options, groups: 64, widthPerGroup: 4 });
}

/** Wide ResNet-50-2: Bottleneck [3,4,6,3] with twice the inner width (widthPerGroup 128). */
export function wideResnet50_2(options: ResNetBuilderOptions = {}): ResNet {
  return new ResNet(Bottleneck, [3, 4, 6, 3], { ...options, widthPerGroup: 128 });
}

/** Wide ResNet-101-2: Bottleneck [3,4,23,3] with widthPerGroup 128. */
export function wideResnet101_2(options: ResNetBuilderOptions = {}): ResNet {
  return new ResNet(Bottleneck, [3, 4, 23, 3], { ...options, widthPerGroup: 128 });
}

/** torchvision's ResNet builders by torchvision name: the one table that maps names to builders. */
export const RESNET_BUILDERS: Readonly<Record<ResNetName, (options?: ResNetBuilderOptions) => ResNet>> = {
  resnet18,
  resnet34,
  resnet50,
  resnet101,
  resnet152,
  resnext50_32x4d,
  resnext101_32x8d,
  resnext101_64x4d,
  wide_resnet50_2: wideResnet50_2,
  wide_resnet101_2: wideResnet101_2,
};

/** Builds a torchvision ResNet by name; an unknown name is a ValueError listing the known ones. */
export function resnetByName(name: ResNetName, options: ResNetBuilderOptions = {}): ResNet {
  if (!Object.prototype.hasOwnProperty.call(RESNET_BUILDERS, name)) {
    throw new ValueError(`resnetByName: unknown name "${name}", expected one of ${Object.keys(RESNET_BUILDERS).join(', ')}`);
  }
  return RESNET_BUILDERS[name](options);
}
