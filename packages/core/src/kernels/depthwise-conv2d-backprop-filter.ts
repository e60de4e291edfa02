import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, formatShape } from '../errors.js';
import { withFlushedInputs } from './flush-denormal-inputs.js';
import { kernelInput } from './kernel-input.js';
import { convWindow } from './spatial-window.js';

const NAME = tf.DepthwiseConv2dNativeBackpropFilter;

/**
 * DepthwiseConv2dNativeBackpropFilter built from kernels the wasm backend has: the gradient of
 * `tf.depthwiseConv2d` with respect to its filter, dW[kh,kw,c,m] = Σ_{n,oh,ow}
 * x[n, oh·s + kh·d − padTop, ow·s + kw·d − padLeft, c] · dy[n,oh,ow,c·M+m] (zero outside x).
 * Inputs x [N,H,W,C] and dy [N,OH,OW,C·M] (NHWC); returns dW [KH,KW,C,M] = `filterShape`, owned
 * by the caller. Padding and rounding are resolved by tfjs's computeConv2DInfo, as in the forward pass.
 */
export function depthwiseConv2dBackpropFilter(args: {
  inputs: tf.NamedTensorInfoMap;
  attrs?: tf.NamedAttrMap;
}): tf.Tensor4D {
  const attrs = args.attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  const { strides, dilations, pad, dimRoundingMode, filterShape } = attrs;
  return tf.tidy(() => {
    const x = kernelInput<tf.Rank.R4>(args.inputs, 'x', NAME);
    const dy = kernelInput<tf.Rank.R4>(args.inputs, 'dy', NAME);
    const info = tf.backend_util.computeConv2DInfo(
      x.shape,
      filterShape,
      strides,
      dilations ?? 1,
      pad,
      dimRoundingMode,
      true
    );
    const expected = [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
    if (dy.shape.some((d, i) => d !== expected[i])) {
      throw new ShapeError(
        `${NAME}: dy must be ${formatShape(expected)} (NHWC) for x ${formatShape(x.shape)} ` +
          `and filterShape ${formatShape(filterShape)}, got ${formatShape(dy.shape)}`
      );
    }
    const xw = convWindow(x, info);
    const [sh, sw, dh, dw] = [info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth];
    if ((sh === 1 && sw === 1) || (dh === 1 && dw === 1)) return swappedGradient(xw, dy, info);
    return tapGradient(xw, dy, info);
  });
}

/**
 * dW by one depthwise convolution with batch folded into channels: x as a single image
 * [1,eH,eW,N·C], dy as a filter [OH,OW,N·C,M], conv stride = dilation and conv dilation = stride,
 * then a sum over N. tfjs allows this only when the stride or the dilation is 1.
 */
function swappedGradient(xw: tf.Tensor4D, dy: tf.Tensor4D, info: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  const { batchSize: n, inChannels: c, outHeight: oh, outWidth: ow, filterHeight: kh, filterWidth: kw } = info;
  const m = info.outChannels / c;
  const [, eh, ew] = xw.shape;
  const image = tf.reshape<tf.Rank.R4>(tf.transpose(xw, [1, 2, 0, 3]), [1, eh, ew, n * c]); // [1, eH, eW, N·C]
  const dy5 = tf.reshape(dy, [n, oh, ow, c, m]);
  const f = tf.reshape<tf.Rank.R4>(tf.transpose(dy5, [1, 2, 0, 3, 4]), [oh, ow, n * c, m]); // [OH, OW, N·C, M]
  const g = tf.depthwiseConv2d(image, f, [info.dilationHeight, info.dilationWidth], 'valid', 'NHWC', [
    info.strideHeight,
    info.strideWidth,
  ]); // [1, KH, KW, N·C·M]
  return tf.sum(tf.reshape(g, [kh, kw, n, c, m]), 2);
}

/** dW one filter tap at a time: the strided input slice times dy, summed over N·OH·OW. */
function tapGradient(xw: tf.Tensor4D, dy: tf.Tensor4D, info: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  const { batchSize: n, inChannels: c, outHeight: oh, outWidth: ow, filterHeight: kh, filterWidth: kw } = info;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const m = info.outChannels / c;
  const rows = n * oh * ow;
  const dy3 = tf.reshape(dy, [rows, c, m]);
  const taps: tf.Tensor2D[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const end = [n, i * dh + (oh - 1) * sh + 1, j * dw + (ow - 1) * sw + 1, c];
      const tap = tf.stridedSlice(xw, [0, i * dh, j * dw, 0], end, [1, sh, sw, 1]); // [N, OH, OW, C]
      taps.push(tf.sum(tf.mul(tf.reshape(tap, [rows, c, 1]), dy3), 0));
    }
  }
  return tf.reshape(tf.stack(taps), [kh, kw, c, m]);
}

/** Registration record of {@link depthwiseConv2dBackpropFilter} for the wasm backend. */
export const depthwiseConv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: NAME,
  backendName: 'wasm',
  kernelFunc: withFlushedInputs(depthwiseConv2dBackpropFilter as unknown as tf.KernelFunc, ['x', 'dy']),
};
