import * as tf from '@tensorflow/tfjs-core';
import { Conv2d, Module, ShapeError, ValueError, formatShape, type Generator } from '@residual/core';

/** Options of {@link PatchEmbed}. */
export interface PatchEmbedOptions {
  /** Input side in pixels (square images, as timm 0.3.2); default 224. */
  imgSize?: number;
  /** Patch side p in pixels; imgSize must be divisible by it. Default 16. */
  patchSize?: number;
  /** Input channels; default 3. */
  inChans?: number;
  /** Token width D; default 768. */
  embedDim?: number;
  /** Draws the default Conv2d initialisation; default core's defaultGenerator(). */
  generator?: Generator;
}

/**
 * Image to patch tokens (timm 0.3.2 `PatchEmbed`): a p×p conv with stride p (`proj`, torch key
 * `proj.weight` [D,C,p,p]) and its output flattened row-major, so token `i·w + j` is the patch
 * at grid row i, column j. The input must be exactly imgSize×imgSize.
 */
export class PatchEmbed extends Module {
  readonly imgSize: number;
  readonly patchSize: number;
  readonly inChans: number;
  readonly embedDim: number;
  /** Patches per side, imgSize / patchSize. */
  readonly gridSize: number;
  /** Number of patch tokens L = gridSize². */
  readonly numPatches: number;
  readonly proj: Conv2d;

  constructor(options: PatchEmbedOptions = {}) {
    super();
    this.imgSize = options.imgSize ?? 224;
    this.patchSize = options.patchSize ?? 16;
    this.inChans = options.inChans ?? 3;
    this.embedDim = options.embedDim ?? 768;
    if (this.imgSize % this.patchSize !== 0) {
      throw new ValueError(
        `PatchEmbed: imgSize must be divisible by patchSize, got imgSize ${this.imgSize} and patchSize ${this.patchSize}`,
      );
    }
    this.gridSize = this.imgSize / this.patchSize;
    this.numPatches = this.gridSize * this.gridSize;
    this.proj = this.registerModule(
      'proj',
      new Conv2d(this.inChans, this.embedDim, this.patchSize, {
        stride: this.patchSize,
        padding: 0,
        bias: true,
        generator: options.generator,
      }),
    );
  }

  /** Images NHWC [N, imgSize, imgSize, inChans] → tokens [N, L, D]; caller owns the result. */
  forward(x: tf.Tensor4D): tf.Tensor3D {
    if (x.rank !== 4 || x.shape[3] !== this.inChans) {
      throw new ShapeError(
        `PatchEmbed.forward: x must be NHWC [N,H,W,${this.inChans}], got ${formatShape(x.shape)}`,
      );
    }
    const [n, h, w] = x.shape;
    if (h !== this.imgSize || w !== this.imgSize) {
      throw new ShapeError(
        `PatchEmbed.forward: input image size ${h}×${w} does not match the model: expected ${this.imgSize}×${this.imgSize}`,
      );
    }
    // [N, h, w, D] → [N, h·w, D]: row-major, as torch's flatten(2).transpose(1, 2)
    return tf.tidy(() => tf.reshape(this.proj.forward(x), [n, this.numPatches, this.embedDim]));
  }
}
