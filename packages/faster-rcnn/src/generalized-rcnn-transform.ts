import * as tf from '@tensorflow/tfjs-core';
import { Module, ShapeError, ValueError, defaultGenerator, formatShape, type Generator } from '@residual/core';
import type { Detection, DetectionTarget, ImageList } from './detection-types.js';
import { resizeBilinear, resizeNearestMasks, resizedSize } from './resize-image.js';

/** Options of {@link GeneralizedRCNNTransform} (torchvision's arguments, camelCase). */
export interface GeneralizedRCNNTransformOptions {
  /** Target short side; a list draws one per image in training (eval uses the last). Default 800. */
  minSize?: number | readonly number[];
  /** Upper bound on the long side. Default 1333. */
  maxSize?: number;
  /** Per-channel mean (RGB). Default ImageNet [0.485, 0.456, 0.406]. */
  imageMean?: readonly [number, number, number];
  /** Per-channel std (RGB). Default ImageNet [0.229, 0.224, 0.225]. */
  imageStd?: readonly [number, number, number];
  /** Batch height and width are rounded up to a multiple of this. Default 32. */
  sizeDivisible?: number;
  /** Resize every image to exactly `[width, height]` (torchvision's `fixed_size` order) instead. */
  fixedSize?: readonly [number, number];
  /** Draws the training min size (default: the process-wide generator). */
  generator?: Generator;
}

/** What {@link GeneralizedRCNNTransform.forward} returns; the caller owns every tensor. */
export type TransformOutput = {
  images: ImageList;
  /** Targets in resized-image coordinates (boxes scaled, masks resized by nearest), when given. */
  targets?: DetectionTarget[];
};

const WHERE = 'GeneralizedRCNNTransform';

/**
 * torchvision's `GeneralizedRCNNTransform` for HWC images (parity-spec §4): per image normalise
 * `(x − mean)/std`, resize bilinearly by the min/max-size rule (the exact float32 scale), then pad the
 * batch with zeros to multiples of `sizeDivisible`. Targets follow the images (boxes scaled by
 * `f32(h')/f32(H)`, `f32(w')/f32(W)`; masks by nearest). {@link postprocess} maps boxes back.
 * No parameters; `training` selects the random min size.
 */
export class GeneralizedRCNNTransform extends Module {
  readonly minSize: readonly number[];
  readonly maxSize: number;
  readonly imageMean: readonly [number, number, number];
  readonly imageStd: readonly [number, number, number];
  readonly sizeDivisible: number;
  readonly fixedSize: readonly [number, number] | undefined;
  private readonly generator: Generator;

  constructor(options: GeneralizedRCNNTransformOptions = {}) {
    super();
    const minSize = options.minSize ?? 800;
    this.minSize = typeof minSize === 'number' ? [minSize] : [...minSize];
    this.maxSize = options.maxSize ?? 1333;
    this.imageMean = options.imageMean ?? [0.485, 0.456, 0.406];
    this.imageStd = options.imageStd ?? [0.229, 0.224, 0.225];
    this.sizeDivisible = options.sizeDivisible ?? 32;
    this.fixedSize = options.fixedSize;
    this.generator = options.generator ?? defaultGenerator();
    if (this.minSize.length === 0 || this.minSize.some((s) => !(s > 0))) {
      throw new ValueError(`${WHERE}: minSize must be a positive number or a non-empty list of them, got [${this.minSize.join(',')}]`);
    }
    if (!(this.maxSize > 0)) throw new ValueError(`${WHERE}: maxSize must be > 0, got ${this.maxSize}`);
    if (!Number.isInteger(this.sizeDivisible) || this.sizeDivisible < 1) {
      throw new ValueError(`${WHERE}: sizeDivisible must be a positive integer, got ${this.sizeDivisible}`);
    }
    for (const [name, v] of [['imageMean', this.imageMean], ['imageStd', this.imageStd]] as const) {
      if (v.length !== 3) throw new ValueError(`${WHERE}: ${name} must have 3 values (RGB), got ${v.length}`);
    }
  }

  /**
   * Normalises, resizes and batches `images` (each float32 [H,W,3] in [0,1]) and their optional
   * `targets`. Returns new tensors the caller owns; inputs are not disposed.
   */
  forward(images: readonly tf.Tensor3D[], targets?: readonly DetectionTarget[]): TransformOutput {
    this.checkInputs(images, targets);
    const sizes = images.map(() => this.targetSize());
    return tf.tidy(() => {
      const resized: tf.Tensor3D[] = [];
      const outTargets: DetectionTarget[] = [];
      images.forEach((image, i) => {
        const [h, w] = image.shape;
        const [oh, ow] = this.fixedSize ? [this.fixedSize[1], this.fixedSize[0]] : resizedSize(h, w, sizes[i], this.maxSize);
        const mean = tf.tensor1d([...this.imageMean]);
        const std = tf.tensor1d([...this.imageStd]);
        resized.push(resizeBilinear(tf.div(tf.sub(image, mean), std), oh, ow));
        if (targets) outTargets.push(resizeTarget(targets[i], [h, w], [oh, ow]));
      });
      const imageSizes = resized.map((r) => [r.shape[0], r.shape[1]] as [number, number]);
      const tensor = this.batchImages(resized);
      return targets ? { images: { tensor, imageSizes }, targets: outTargets } : { images: { tensor, imageSizes } };
    });
  }

  /**
   * Maps detections from resized coordinates back to each original image (`imageSizes[i]` → `originalSizes[i]`,
   * both `[h, w]`): x · `f32(W)/f32(w')`, y · `f32(H)/f32(h')`. Returns new detections: boxes rescaled,
   * scores and labels cloned (caller owns them); the inputs are not disposed. Every other field of a
   * detection (`masks`, or whatever a custom head adds) is carried over untouched — the same value, not a
   * copy — as torchvision keeps the keys it does not map. Pasting `masks` into the image, which
   * torchvision does in this method, is Mask R-CNN's transform's job here (`MaskRCNNTransform`).
   */
  postprocess(
    detections: readonly Detection[],
    imageSizes: ReadonlyArray<readonly [number, number]>,
    originalSizes: ReadonlyArray<readonly [number, number]>,
  ): Detection[] {
    if (detections.length !== imageSizes.length || detections.length !== originalSizes.length) {
      throw new ValueError(
        `${WHERE}.postprocess: detections, imageSizes and originalSizes must have one entry per image, got ${detections.length}, ${imageSizes.length}, ${originalSizes.length}`,
      );
    }
    return detections.map((d, i) => ({
      ...d,
      ...tf.tidy(() => ({
        boxes: resizeBoxes(d.boxes, imageSizes[i], originalSizes[i]),
        scores: tf.clone(d.scores),
        labels: tf.clone(d.labels),
      })),
    }));
  }

  // torch_choice: index = int(U(0, len)); eval uses the last size.
  private targetSize(): number {
    if (!this.training) return this.minSize[this.minSize.length - 1];
    return this.minSize[this.generator.randint(this.minSize.length)];
  }

  // Zero padding to the largest size over the batch, rounded up per axis to sizeDivisible.
  private batchImages(images: tf.Tensor3D[]): tf.Tensor4D {
    const d = this.sizeDivisible;
    const hb = Math.ceil(Math.max(...images.map((im) => im.shape[0])) / d) * d;
    const wb = Math.ceil(Math.max(...images.map((im) => im.shape[1])) / d) * d;
    const padded = images.map((im) => tf.pad(im, [[0, hb - im.shape[0]], [0, wb - im.shape[1]], [0, 0]]));
    return tf.stack(padded) as tf.Tensor4D; // [N, Hb, Wb, 3]
  }

  private checkInputs(images: readonly tf.Tensor3D[], targets?: readonly DetectionTarget[]): void {
    if (images.length === 0) throw new ValueError(`${WHERE}: images must hold at least one image, got none`);
    images.forEach((image, i) => {
      if (image.rank !== 3 || image.shape[2] !== 3) {
        throw new ShapeError(`${WHERE}: images[${i}] must be [H,W,3] (HWC, RGB), got ${formatShape(image.shape)}`);
      }
      if (image.dtype !== 'float32') {
        throw new ValueError(`${WHERE}: images[${i}] must be float32 in [0, 1], got ${image.dtype}`);
      }
      if (image.shape[0] === 0 || image.shape[1] === 0) {
        throw new ShapeError(`${WHERE}: images[${i}] must not be empty, got ${formatShape(image.shape)}`);
      }
    });
    if (!targets) return;
    if (targets.length !== images.length) {
      throw new ValueError(`${WHERE}: targets must have one entry per image (${images.length}), got ${targets.length}`);
    }
    targets.forEach((t, i) => checkTarget(t, i, images[i].shape));
  }
}

function checkTarget(t: DetectionTarget, i: number, imageShape: readonly number[]): void {
  if (t.boxes.rank !== 2 || t.boxes.shape[1] !== 4) {
    throw new ShapeError(`${WHERE}: targets[${i}].boxes must be [K,4], got ${formatShape(t.boxes.shape)}`);
  }
  if (t.boxes.dtype !== 'float32') throw new ValueError(`${WHERE}: targets[${i}].boxes must be float32, got ${t.boxes.dtype}`);
  const k = t.boxes.shape[0];
  if (t.labels.rank !== 1 || t.labels.shape[0] !== k) {
    throw new ShapeError(`${WHERE}: targets[${i}].labels must be [${k}] (one per box), got ${formatShape(t.labels.shape)}`);
  }
  if (t.labels.dtype !== 'int32') throw new ValueError(`${WHERE}: targets[${i}].labels must be int32, got ${t.labels.dtype}`);
  if (t.masks) {
    const want = [k, imageShape[0], imageShape[1]];
    if (t.masks.rank !== 3 || t.masks.shape.some((s, j) => s !== want[j])) {
      throw new ShapeError(`${WHERE}: targets[${i}].masks must be ${formatShape(want)} (one H×W mask per box), got ${formatShape(t.masks.shape)}`);
    }
  }
}

// torchvision resize_boxes: ratios are float32 divisions of the integer sizes.
function resizeBoxes(boxes: tf.Tensor2D, from: readonly [number, number], to: readonly [number, number]): tf.Tensor2D {
  const rh = Math.fround(to[0] / from[0]);
  const rw = Math.fround(to[1] / from[1]);
  return tf.mul(boxes, tf.tensor2d([rw, rh, rw, rh], [1, 4]));
}

function resizeTarget(t: DetectionTarget, from: [number, number], to: [number, number]): DetectionTarget {
  const out: DetectionTarget = { boxes: resizeBoxes(t.boxes, from, to), labels: tf.clone(t.labels) };
  if (t.masks) {
    // torch resizes masks as float, then `.byte()` truncates: int32 here.
    out.masks = tf.cast(resizeNearestMasks(tf.cast(t.masks, 'float32') as tf.Tensor3D, to[0], to[1]), 'int32');
  }
  return out;
}
