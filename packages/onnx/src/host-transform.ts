import type * as tf from '@tensorflow/tfjs-core';
import { ShapeError, ValueError, formatShape } from '@residual/core';
import { GeneralizedRCNNTransform, bilinearAxisPlan, resizedSize, type BilinearAxisPlan } from '@residual/faster-rcnn';
import type { HostTensor } from './onnx-session.js';

// GeneralizedRCNNTransform.forward (eval) of the onnxruntime engine on host arrays: normalise, resize
// bilinearly (torch's arithmetic as faster-rcnn's resizeBilinear: width first, then height, float32
// products and sums) and zero-pad into the NHWC batch onnxruntime takes, in one pass per axis instead
// of a dozen full-image tfjs-wasm kernels.

const { ceil, fround, max } = Math; // bound once: global lookups are slow inside jest's vm

interface AxisPlan extends BilinearAxisPlan {
  identity: boolean;
}

// faster-rcnn's bilinear plan; `identity` when every output reads its own input with weight 1 (equal
// sizes): the pass is then skipped, same values.
function axisPlan(inSize: number, outSize: number): AxisPlan {
  const plan = bilinearAxisPlan(inSize, outSize);
  return { ...plan, identity: inSize === outSize && plan.i0.every((i, d) => i === d) && plan.w1.every((l) => l === 0) };
}

/** True when `transform` runs GeneralizedRCNNTransform's own forward (no subclass override), which {@link hostTransform} reproduces. */
export function isPlainTransform(transform: GeneralizedRCNNTransform): boolean {
  return transform instanceof GeneralizedRCNNTransform && transform.forward === GeneralizedRCNNTransform.prototype.forward;
}

/**
 * `transform.forward(images)` in eval mode on host arrays: the NHWC batch [N,Hb,Wb,3] (zero padded to
 * multiples of sizeDivisible) and each image's resized `[h, w]`. Reads each image back once.
 */
export async function hostTransform(
  transform: GeneralizedRCNNTransform,
  images: readonly tf.Tensor3D[],
): Promise<{ input: HostTensor; imageSizes: Array<[number, number]> }> {
  const where = 'GeneralizedRCNNTransform';
  if (images.length === 0) throw new ValueError(`${where}: images must hold at least one image, got none`);
  images.forEach((image, i) => {
    if (image.rank !== 3 || image.shape[2] !== 3) throw new ShapeError(`${where}: images[${i}] must be [H,W,3] (HWC, RGB), got ${formatShape(image.shape)}`);
    if (image.dtype !== 'float32') throw new ValueError(`${where}: images[${i}] must be float32 in [0, 1], got ${image.dtype}`);
    if (image.shape[0] === 0 || image.shape[1] === 0) throw new ShapeError(`${where}: images[${i}] must not be empty, got ${formatShape(image.shape)}`);
  });
  const minSize = transform.minSize[transform.minSize.length - 1]; // eval: the last min size
  const imageSizes = images.map((im): [number, number] => {
    const [h, w] = im.shape;
    return transform.fixedSize ? [transform.fixedSize[1], transform.fixedSize[0]] : resizedSize(h, w, minSize, transform.maxSize);
  });
  const d = transform.sizeDivisible;
  const hb = ceil(max(...imageSizes.map((s) => s[0])) / d) * d;
  const wb = ceil(max(...imageSizes.map((s) => s[1])) / d) * d;
  const batch = new Float32Array(images.length * hb * wb * 3);
  const mean = transform.imageMean.map(fround);
  const std = transform.imageStd.map(fround);
  for (let n = 0; n < images.length; n++) {
    const [h, w] = images[n].shape;
    const [oh, ow] = imageSizes[n];
    const pixels = (await images[n].data()) as Float32Array;
    const norm = new Float32Array(h * w * 3);
    for (let p = 0; p < h * w * 3; p += 3) {
      norm[p] = fround(pixels[p] - mean[0]) / std[0];
      norm[p + 1] = fround(pixels[p + 1] - mean[1]) / std[1];
      norm[p + 2] = fround(pixels[p + 2] - mean[2]) / std[2];
    }
    // Width first ([h, ow, 3]), then height ([oh, ow, 3]) written into the batch's rows.
    const cols = axisPlan(w, ow);
    let across = norm;
    if (!cols.identity) {
      across = new Float32Array(h * ow * 3);
      for (let y = 0; y < h; y++) {
        const row = y * w * 3;
        for (let x = 0; x < ow; x++) {
          const [a, b, w0, w1] = [row + cols.i0[x] * 3, row + cols.i1[x] * 3, cols.w0[x], cols.w1[x]];
          const o = (y * ow + x) * 3;
          for (let c = 0; c < 3; c++) across[o + c] = fround(norm[a + c] * w0) + fround(norm[b + c] * w1);
        }
      }
    }
    const rows = axisPlan(h, oh);
    const base = n * hb * wb * 3;
    for (let y = 0; y < oh; y++) {
      const dst = base + y * wb * 3;
      if (rows.identity) {
        batch.set(across.subarray(y * ow * 3, (y + 1) * ow * 3), dst);
        continue;
      }
      const [a, b, w0, w1] = [rows.i0[y] * ow * 3, rows.i1[y] * ow * 3, rows.w0[y], rows.w1[y]];
      for (let j = 0; j < ow * 3; j++) batch[dst + j] = fround(across[a + j] * w0) + fround(across[b + j] * w1);
    }
  }
  return { input: { data: batch, shape: [images.length, hb, wb, 3] }, imageSizes };
}
