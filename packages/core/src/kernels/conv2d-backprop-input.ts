import * as tf from '@tensorflow/tfjs-core';
import { withFlushedInputs } from './flush-denormal-inputs.js';
import { kernelInput } from './kernel-input.js';
import { padOrCrop, spreadByStride } from './spatial-window.js';

const NAME = tf.Conv2DBackpropInput;

/**
 * Conv2DBackpropInput (the gradient of `tf.conv2d` w.r.t. its input, and `tf.conv2dTranspose`) as a
 * stride-1 convolution, so it runs on the wasm backend's XNNPACK convolution instead of wasm's
 * naive loop (measured 5–8× slower on ResNet shapes): dy [N,OH,OW,Co] is spread out by the stride
 * (zeros between rows and columns), padded by KH−1−padTop (KW−1−padLeft) and convolved with the
 * filter [KH,KW,Ci,Co] rotated by 180° and transposed to [KH,KW,Co,Ci]. Returns dx = `inputShape`
 * [N,H,W,Ci], owned by the caller. Cases it does not cover (NCHW, dilation > 1) and inputs with
 * fewer than 8 channels go to `fallback`.
 */
export function conv2dBackpropInputAsConv(
  args: { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap; backend: unknown },
  fallback: tf.KernelFunc,
): tf.Tensor4D | tf.TensorInfo | tf.TensorInfo[] {
  const attrs = args.attrs as unknown as tf.Conv2DBackpropInputAttrs & { dilations?: number | [number, number] };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs;
  const dilations = attrs.dilations ?? 1;
  const dilated = Array.isArray(dilations) ? dilations.some((d) => d !== 1) : dilations !== 1;
  // Few input channels (the 7×7 RGB stem) run as fast natively; there the spread copy does not pay.
  if (dataFormat === 'NCHW' || dilated || inputShape[3] < 8) return fallback(args as unknown as Parameters<tf.KernelFunc>[0]);
  return tf.tidy(() => {
    const dy = kernelInput<tf.Rank.R4>(args.inputs, 'dy', NAME);
    const filter = kernelInput<tf.Rank.R4>(args.inputs, 'filter', NAME);
    const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape, strides, 1, pad, dimRoundingMode, false, 'channelsLast');
    const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, inHeight: h, inWidth: w } = info;
    const { top, left } = info.padInfo;
    const spread = spreadByStride(dy, sh, sw); // [N, OH·sh, OW·sw, Co]; padOrCrop drops the trailing zeros
    const [, rows, cols] = spread.shape;
    const padTop = kh - 1 - top;
    const padLeft = kw - 1 - left;
    const window = padOrCrop(spread, [padTop, h + kh - 1 - padTop - rows], [padLeft, w + kw - 1 - padLeft - cols]);
    const rotated = tf.transpose(rotate180(filter), [0, 1, 3, 2]); // [KH,KW,Co,Ci]
    return tf.conv2d(window, rotated, 1, 'valid');
  });
}

/**
 * The filter rotated by 180° in its two spatial axes, i.e. its flattened KH·KW tap order reversed:
 * one matMul by the exchange matrix, exact (x·1 + Σ 0·y) and ~2× faster than wasm's Reverse,
 * whose copy loop dominated the backward pass of small feature maps.
 */
function rotate180(filter: tf.Tensor4D): tf.Tensor4D {
  const [kh, kw, ci, co] = filter.shape;
  const taps = kh * kw;
  if (taps === 1) return filter;
  const exchange = tf.reverse(tf.eye(taps), 0); // [taps, taps], ones on the anti-diagonal
  return tf.reshape(tf.matMul(exchange, tf.reshape(filter, [taps, ci * co])), [kh, kw, ci, co]);
}


/**
 * Replaces the wasm backend's Conv2DBackpropInput with {@link conv2dBackpropInputAsConv}, keeping the
 * native kernel as its fallback. Idempotent (a second call finds its own kernel and does nothing).
 */
export function overrideWasmConv2dBackpropInput(): boolean {
  const native = tf.getKernel(NAME, 'wasm');
  if (native === undefined || native.kernelFunc === replacement) return false;
  const fallback = native.kernelFunc;
  // Its dy is a gradient: flush subnormals, which slow every convolution (see flushDenormalInputs).
  replacement = withFlushedInputs(
    (args) => conv2dBackpropInputAsConv(args as Parameters<typeof conv2dBackpropInputAsConv>[0], fallback) as tf.TensorInfo,
    ['dy', 'filter'],
  );
  tf.unregisterKernel(NAME, 'wasm');
  tf.registerKernel({ kernelName: NAME, backendName: 'wasm', kernelFunc: replacement });
  return true;
}

let replacement: tf.KernelFunc | undefined;
