import { fasterrcnnResnetFpn, type FasterRCNNResnetFpnOptions, type GeneralizedRCNN } from '@residual/faster-rcnn';
import { maskrcnnResnetFpn } from '@residual/mask-rcnn';
import { RESNET_BUILDERS, type ResNet, type ResNetBuilderOptions, type ResNetName } from '@residual/resnet';

// Where command-line strings become builders. ResNet names are torchvision's and their table is the
// resnet package's RESNET_BUILDERS (fpn's resnetFpnBackbone uses it too); detector names live here.

/** `--arch` of `residual classify` → torchvision's ResNet builders. */
export const CLASSIFIERS: Readonly<Record<ResNetName, (options?: ResNetBuilderOptions) => ResNet>> = RESNET_BUILDERS;

/** `--backbone` of `residual detect` / `train`: the ResNets a detector can be built on. */
export const BACKBONES: readonly ResNetName[] = Object.keys(CLASSIFIERS) as ResNetName[];

/** `--arch` of `residual detect` / `train`. */
export type DetectorArch = 'fasterrcnn' | 'maskrcnn';

/**
 * What the CLI passes to a detector builder: torchvision's options in camelCase (see
 * `FasterRCNNResnetFpnOptions`), with `numClasses` (background included) always given.
 */
export type DetectorBuildOptions = Pick<
  FasterRCNNResnetFpnOptions,
  | 'minSize'
  | 'maxSize'
  | 'boxScoreThresh'
  | 'boxDetectionsPerImg'
  | 'rpnPreNmsTopNTest'
  | 'rpnPostNmsTopNTest'
  | 'rpnBatchSizePerImage'
  | 'boxBatchSizePerImage'
  | 'trainableBackboneLayers'
  | 'frozenBnEps'
  | 'weightsBackbone'
  | 'generator'
> & { numClasses: number };

/**
 * Builds a detector of one `--arch` on a `--backbone`. Both architectures are a `GeneralizedRCNN`
 * (`predict`, `forwardTrain`, faster-rcnn's `trainStep`); Mask R-CNN's `predict` adds `masks`.
 */
export type DetectorBuilder = (backbone: ResNetName, options: DetectorBuildOptions) => GeneralizedRCNN;

/** `--arch` of `residual detect` / `train` → torchvision's ResNet-FPN detector builders. */
export const DETECTORS: Readonly<Record<DetectorArch, DetectorBuilder>> = {
  fasterrcnn: (backbone, options) => fasterrcnnResnetFpn(backbone, options),
  maskrcnn: (backbone, options) => maskrcnnResnetFpn(backbone, options),
};

/** Names of the detector architectures, for flag validation and help. */
export const DETECTOR_ARCHS: readonly DetectorArch[] = Object.keys(DETECTORS) as DetectorArch[];
