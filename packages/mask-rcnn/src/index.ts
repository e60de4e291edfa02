export { MaskRCNNHeads, renameLegacyMaskHeadKeys, type MaskRCNNHeadsOptions } from './mask-rcnn-heads.js';
export { MaskRCNNPredictor } from './mask-rcnn-predictor.js';
export { maskrcnnLoss, projectMasksOnBoxes } from './maskrcnn-loss.js';
