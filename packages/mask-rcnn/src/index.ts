export { MaskRCNNHeads, renameLegacyMaskHeadKeys, type MaskRCNNHeadsOptions } from './mask-rcnn-heads.js';
export { MaskRCNNPredictor } from './mask-rcnn-predictor.js';
export { maskrcnnLoss, projectMasksOnBoxes } from './maskrcnn-loss.js';
export { maskrcnnInference } from './maskrcnn-inference.js';
export { pasteMasksInImage, pasteMasksToRle, type CompressedRle, type PasteMasksOptions } from './paste-masks-in-image.js';
