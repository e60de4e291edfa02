export { type Sample, type Target, disposeSample } from './sample.js';
export { decodeImage, readImage, type DecodedImage, type ReadImageOptions } from './read-image.js';
export {
  validateCocoJson,
  type CocoAnnotation,
  type CocoCategory,
  type CocoDatasetJson,
  type CocoImage,
} from './coco-json.js';
export { buildCocoTarget, type CocoTargetOptions } from './coco-target.js';
export { CocoDataset, type CocoDatasetOptions } from './coco-dataset.js';
export { compose, withTensors, type SampleChanges, type Transform } from './transform.js';
export { resize, resizeOutputSize, type ResizeOptions } from './resize.js';
export { horizontalFlip, randomHorizontalFlip } from './horizontal-flip.js';
export { normalize, IMAGENET_MEAN, IMAGENET_STD } from './normalize.js';
export { toTensor } from './to-tensor.js';
export { DataLoader, disposeDeep, type DataLoaderOptions, type IndexedDataset } from './data-loader.js';
export {
  SHAPE_CATEGORIES,
  renderShapesScene,
  type ShapeInstance,
  type ShapesOptions,
  type ShapesScene,
} from './shapes-scene.js';
export { ShapesDataset, writeShapesDataset, type ShapesDatasetFiles } from './shapes-dataset.js';
export { loadMnist, type MnistOptions, type MnistSplit } from './mnist.js';
