export { rleDecode, rleArea, type Rle, type UncompressedRle } from './rle.js';
export { rleToString, rleFromString, compressRle } from './rle-string.js';
export { rleMerge } from './rle-merge.js';
export { rleIou, bboxIou } from './rle-iou.js';
export { rleToBbox, bboxToRle, type Bbox } from './rle-bbox.js';
export { polygonToRle, polygonsToRle } from './polygon.js';
export { annToRle, type Segmentation } from './ann-to-rle.js';
export { maskToRle, rleToMask, type MaskDType } from './mask-tensor.js';
