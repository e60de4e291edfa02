import type * as tf from '@tensorflow/tfjs-core';
import { StateDictError, type StateDict } from '@residual/core';
import { inferNumClasses } from '@residual/faster-rcnn';
import type { ResNetName } from '@residual/resnet';

/** What a detector state dict implies: the detector, its ResNet backbone and its number of classes. */
export interface DetectorArchitecture {
  arch: 'maskrcnn' | 'fasterrcnn';
  backbone: ResNetName;
  numClasses: number;
}

// Blocks per stage (layer1..4) and bottleneck-ness of each torchvision ResNet.
const RESNETS: ReadonlyArray<[ResNetName, number[], boolean]> = [
  ['resnet18', [2, 2, 2, 2], false],
  ['resnet34', [3, 4, 6, 3], false],
  ['resnet50', [3, 4, 6, 3], true],
  ['resnet101', [3, 4, 23, 3], true],
  ['resnet152', [3, 8, 36, 3], true],
];

/**
 * Reads a Faster/Mask R-CNN state dict (torch keys, `backbone.body.*`): `maskrcnn` when it has
 * `roi_heads.mask_predictor.*`, the ResNet from the blocks per stage and the block type (wide ResNets
 * and ResNeXt from `layer1.0.conv2`'s width and groups), and numClasses as {@link inferNumClasses}.
 * Throws StateDictError when the keys fit no known architecture.
 */
export function inferArchitecture(stateDict: StateDict): DetectorArchitecture {
  const dict = stateDict instanceof Map ? stateDict : new Map(Object.entries(stateDict));
  const keys = [...dict.keys()];
  const arch = keys.some((k) => k.startsWith('roi_heads.mask_predictor.')) ? 'maskrcnn' : 'fasterrcnn';
  const blocks = [1, 2, 3, 4].map((s) => {
    const ids = new Set(keys.filter((k) => k.startsWith(`backbone.body.layer${s}.`)).map((k) => k.split('.')[3]));
    return ids.size;
  });
  const bottleneck = dict.has('backbone.body.layer1.0.conv3.weight');
  const conv2 = dict.get('backbone.body.layer1.0.conv2.weight') as tf.Tensor | undefined;
  const found = RESNETS.find(([, b, bn]) => bn === bottleneck && b.every((n, i) => n === blocks[i]));
  if (!found || !conv2) {
    throw new StateDictError(`inferArchitecture: no known ResNet has ${blocks.join('/')} blocks per stage (${bottleneck ? 'bottleneck' : 'basic'} blocks)`);
  }
  let backbone = found[0];
  if (bottleneck) {
    const [width, perGroup] = [conv2.shape[0], conv2.shape[1] ?? 1]; // torch layout [out, in/groups, 3, 3]
    const groups = width / perGroup;
    const deep = found[0] === 'resnet101';
    if (groups === 32 && width === 128 && !deep) backbone = 'resnext50_32x4d';
    else if (groups === 32 && width === 256 && deep) backbone = 'resnext101_32x8d';
    else if (groups === 64 && width === 256 && deep) backbone = 'resnext101_64x4d';
    else if (groups === 1 && width === 128) backbone = deep ? 'wide_resnet101_2' : 'wide_resnet50_2';
    else if (!(groups === 1 && width === 64)) {
      throw new StateDictError(`inferArchitecture: layer1.0.conv2 of width ${width} in ${groups} groups fits no known ResNet`);
    }
  }
  return { arch, backbone, numClasses: inferNumClasses(dict) };
}
