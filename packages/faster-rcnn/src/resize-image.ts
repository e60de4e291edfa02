import * as tf from '@tensorflow/tfjs-core';

// torch.nn.functional.interpolate as GeneralizedRCNNTransform calls it (parity-spec §4.2), computed
// from host-side index plans so that every backend gives torch's float32 arithmetic exactly.

// Global lookups (`Math.floor`) are ~20× slower inside jest's vm context; bind them once.
const { floor, fround, min } = Math;

/**
 * torchvision's resize rule: the scale is `min(f32(f32(1/min(H,W))·minSize), f32(f32(1/max(H,W))·maxSize))`
 * (torch evaluates `python float / float32 tensor` as a float32 reciprocal times the float), and each
 * side becomes `floor(f64(side)·f64(scale))`. Returns the resized `[height, width]`.
 */
export function resizedSize(height: number, width: number, minSize: number, maxSize: number): [number, number] {
  const mn = fround(min(height, width));
  const mx = fround(Math.max(height, width));
  const scale = min(fround(fround(1 / mn) * minSize), fround(fround(1 / mx) * maxSize));
  return [floor(height * scale), floor(width * scale)];
}

/** Source indices and float32 weights of one axis of torch's bilinear resize ({@link bilinearAxisPlan}). */
export interface BilinearAxisPlan {
  /** Lower and upper source index of each destination index. */
  i0: Int32Array;
  i1: Int32Array;
  /** Their weights (w0 = f32(1 − w1)). */
  w0: Float32Array;
  w1: Float32Array;
}

/**
 * torch upsample_bilinear2d (align_corners=False, recomputed scale) for one axis resized from `inSize`
 * to `outSize`, for the destination indices [from, to) (default: all): the scale is the float32 ratio
 * in/out, but the source index `scale·(dst + 0.5) − 0.5` is evaluated in double (the kernel's 0.5
 * literals are doubles; measured against torch 1.13: float32 here is off by up to 3e-6); src is
 * clamped at 0, i0 = floor(src), i1 = min(i0 + 1, in − 1), λ = f32(src − i0). Host-array resizes (the
 * onnx engine's transform and mask paste) share it with {@link resizeBilinear}.
 */
export function bilinearAxisPlan(inSize: number, outSize: number, from = 0, to = outSize): BilinearAxisPlan {
  const scale = fround(inSize / outSize);
  const n = Math.max(to - from, 0);
  const plan = { i0: new Int32Array(n), i1: new Int32Array(n), w0: new Float32Array(n), w1: new Float32Array(n) };
  for (let j = 0; j < n; j++) {
    const src = Math.max(scale * (from + j + 0.5) - 0.5, 0);
    const i0 = min(floor(src), inSize - 1);
    const lambda = min(Math.max(fround(src - i0), 0), 1);
    plan.i0[j] = i0;
    plan.i1[j] = i0 < inSize - 1 ? i0 + 1 : i0;
    plan.w1[j] = lambda;
    plan.w0[j] = fround(1 - lambda);
  }
  return plan;
}

// One axis of the separable interpolation: x0·w0 + x1·w1 along `axis` (weights broadcast on it).
function lerpAxis(x: tf.Tensor3D, plan: BilinearAxisPlan, axis: 0 | 1): tf.Tensor3D {
  const shape: [number, number, number] = axis === 0 ? [plan.w0.length, 1, 1] : [1, plan.w0.length, 1];
  const a = tf.mul(tf.gather(x, tf.tensor1d(plan.i0, 'int32'), axis), tf.tensor3d(plan.w0, shape));
  const b = tf.mul(tf.gather(x, tf.tensor1d(plan.i1, 'int32'), axis), tf.tensor3d(plan.w1, shape));
  return tf.add(a, b);
}

/**
 * Bilinear resize of an HWC image [H,W,C] to `[outH, outW]`, exactly torch's
 * `interpolate(mode='bilinear', align_corners=False)` with a recomputed scale (no antialiasing):
 * the width is interpolated first, then the height, as torch's CPU kernel nests them.
 * Returns float32 [outH,outW,C], caller owns; `image` is not disposed.
 */
export function resizeBilinear(image: tf.Tensor3D, outH: number, outW: number): tf.Tensor3D {
  const [h, w] = image.shape;
  return tf.tidy(() => {
    const cols = lerpAxis(image, bilinearAxisPlan(w, outW), 1); // [H, outW, C]
    return lerpAxis(cols, bilinearAxisPlan(h, outH), 0); // [outH, outW, C]
  });
}

// torch nearest_idx: identity for equal sizes, else min(floor(f32(dst·f32(in/out))), in − 1).
function nearestIndices(inSize: number, outSize: number): Int32Array {
  const scale = fround(inSize / outSize);
  const idx = new Int32Array(outSize);
  for (let d = 0; d < outSize; d++) idx[d] = inSize === outSize ? d : min(floor(fround(d * scale)), inSize - 1);
  return idx;
}

/**
 * Nearest resize of masks [K,H,W] to `[outH, outW]` as torch's `interpolate(mode='nearest')` with a
 * recomputed scale. Values are copied unchanged (same dtype); caller owns the result.
 */
export function resizeNearestMasks(masks: tf.Tensor3D, outH: number, outW: number): tf.Tensor3D {
  const [k, h, w] = masks.shape;
  // tfjs's gather mis-shapes an empty batch ([1,0,…]): an image without instances has no masks.
  if (k === 0) return tf.zeros([0, outH, outW], masks.dtype);
  return tf.tidy(() => {
    const rows = tf.gather(masks, tf.tensor1d(nearestIndices(h, outH), 'int32'), 1);
    return tf.gather(rows, tf.tensor1d(nearestIndices(w, outW), 'int32'), 2);
  });
}
