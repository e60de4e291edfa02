// What the page and its model worker send each other (structured clones; typed arrays are transferred).
import type { RgbaImage } from './sample-scene.js';

/** `init`: which backend to use (absent: core's browser order webgpu → webgl → wasm → cpu). */
export interface InitRequest {
  backend?: 'webgpu' | 'webgl' | 'wasm' | 'cpu';
}

/** Options of the detector built from the weights (torchvision's names). */
export interface DetectorOptions {
  minSize: number;
  maxSize: number;
  rpnPostNmsTopNTest: number;
  boxScoreThresh: number;
}

/**
 * `loadDetector`: a torchvision-keyed Mask R-CNN safetensors file, torchvision's architecture or one its
 * metadata describes (`residual demo`'s weights: architecture, image size and category names).
 */
export interface LoadDetectorRequest {
  bytes: Uint8Array;
  options: DetectorOptions;
}

/** What `loadDetector` found in the weights. */
export interface LoadedDetector {
  backbone: string;
  numClasses: number;
  /** Weights that describe their model (`residual demo`'s): its min/max size, used instead of the form's. */
  imageSize?: [number, number];
}

/** `detect`: one image and the score from which detections are drawn. */
export interface DetectRequest {
  image: RgbaImage;
  drawThreshold: number;
}

/** `detect`'s answer: the detections as plain arrays and the annotated image. */
export interface DetectResponse {
  /** [K·4] x1,y1,x2,y2 in image pixels. */
  boxes: Float32Array;
  scores: Float32Array;
  labels: Int32Array;
  /** COCO compressed RLE of `mask > 0.5`, one per detection. */
  masks: Array<{ size: [number, number]; counts: string }>;
  rendered: RgbaImage;
  backend: string;
  ms: number;
}

/** `loadMae`: an MAE checkpoint (safetensors, official keys), or nothing for the tiny seeded test model. */
export interface LoadMaeRequest {
  bytes?: Uint8Array;
}

/** `reconstruct`: one image, the fraction of patches removed and the seed of the mask. */
export interface ReconstructRequest {
  image: RgbaImage;
  maskRatio: number;
  seed: number;
}

/** `reconstruct`'s answer: original | masked | reconstruction | reconstruction + visible, one row. */
export interface ReconstructResponse {
  grid: RgbaImage;
  ms: number;
}
