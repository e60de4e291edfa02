export { MaskRCNNHeads, renameLegacyMaskHeadKeys, type MaskRCNNHeadsOptions } from './mask-rcnn-heads.js';
export { MaskRCNNPredictor } from './mask-rcnn-predictor.js';
export { maskrcnnLoss, projectMasksOnBoxes } from './maskrcnn-loss.js';
export { maskrcnnInference } from './maskrcnn-inference.js';
export { pasteMasksInImage, pasteMasksToRle, maskPlacement, type CompressedRle, type MaskPlacement, type PasteMasksOptions } from './paste-masks-in-image.js';
export { hasMasks, type MaskDetection, type RleMaskDetection } from './mask-detection.js';
export { MaskRoIHeads, type MaskRoIHeadsOptions, type MaskHead, type MaskPredictor } from './mask-roi-heads.js';
export { MaskRCNNTransform, type MaskFormat } from './mask-rcnn-transform.js';
export { MaskRCNN, type MaskRCNNOptions, type PredictOptions } from './mask-rcnn.js';
export { maskrcnnResnet50Fpn, maskrcnnResnetFpn, type MaskRCNNResnetFpnOptions } from './mask-rcnn-builders.js';
export { toCocoResults, type CocoDetectionResult, type LabelToCategoryId } from './coco-results.js';
export { inferArchitecture, type DetectorArchitecture } from './infer-architecture.js';
export {
  maskrcnnFromConfig,
  parseMaskRCNNConfig,
  readDetectorMetadata,
  MASKRCNN_CONFIG_METADATA_KEY,
  CATEGORIES_METADATA_KEY,
  type MaskRCNNConfig,
  type MaskRCNNFromConfigOptions,
  type DetectorCategory,
  type DetectorMetadata,
} from './mask-rcnn-config.js';
