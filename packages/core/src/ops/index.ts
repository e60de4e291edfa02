export { boxArea, boxIou, clipBoxesToImage, removeSmallBoxes, boxConvert, type BoxFormat } from './box-ops.js';
export { nms, batchedNms } from './nms.js';
export { softNms, type SoftNmsMethod, type SoftNmsOptions, type SoftNmsResult } from './soft-nms.js';
export { BoxCoder, type BoxCoderWeights } from './box-coder.js';
export { roiAlign, type RoiAlignRois } from './roi-align.js';
export { roiGeometry, roiAxisWeights, type RoiAlignConfig, type RoiGeometry } from './roi-align-plan.js';
export { subsample } from './subsample.js';
