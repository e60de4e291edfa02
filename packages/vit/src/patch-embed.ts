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
 * Image to patch tokens (timm 0.3.2 `PatchEmbed`): a p×p conv with stride p (`proj`, a Conv2d; torch
 * key `proj.weight` [D,C,p,p]) and its output flattened row-major, so token `i·w + j` is the patch
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
    const p = this.patchSize;
    const g = this.gridSize;
    const patchDim = p * p * this.inChans;
    return tf.tidy(() => {
      // A stride-p p×p conv is a matmul over non-overlapping patches; written so, its gradient needs
      // no Conv2DBackpropFilter (absent on wasm). Patch vectors are (py, px, c) with c fastest, the
      // order of the tfjs filter [p, p, C, D] flattened to [p·p·C, D].
      const grid = tf.reshape(x, [n, g, p, g, p * this.inChans]); // [N, h, p, w, p·C]
      const patches = tf.reshape(tf.transpose(grid, [0, 1, 3, 2, 4]), [n * this.numPatches, patchDim]);
      let y: tf.Tensor = tf.matMul(patches, tf.reshape(this.proj.weight, [patchDim, this.embedDim]));
      if (this.proj.bias) y = tf.add(y, this.proj.bias);
      return tf.reshape(y, [n, this.numPatches, this.embedDim]); // [N, L, D], token i·w + j (row-major)
    });
  }
}
