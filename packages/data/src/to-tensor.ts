import * as tf from '@tensorflow/tfjs-core';
import { ValueError } from '@residual/core';

/**
 * Raw 8-bit pixels (row-major HWC, e.g. sharp's `.raw()` output or canvas ImageData with
 * `channels` 4) → Tensor3D [H,W,C] float32 in [0,1] (value / 255, as torchvision's `to_tensor`
 * but NHWC). The caller owns the tensor. Throws ValueError when the length is not h·w·c.
 */
export function toTensor(pixels: Uint8Array | Uint8ClampedArray, height: number, width: number, channels = 3): tf.Tensor3D {
  const n = height * width * channels;
  if (!Number.isInteger(n) || n < 0 || pixels.length !== n) {
    throw new ValueError(
      `toTensor: pixels must have height·width·channels = ${height}·${width}·${channels} = ${n} values, got ${pixels.length}`,
    );
  }
  const out = new Float32Array(n);
  // v / 255 in double rounded once to float32 equals torch's float32 division exactly.
  for (let i = 0; i < n; i++) out[i] = pixels[i] / 255;
  return tf.tensor3d(out, [height, width, channels], 'float32');
}
