import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, formatShape } from '../errors.js';
import { withFlushedInputs } from './flush-denormal-inputs.js';
import { kernelInput } from './kernel-input.js';
import { convWindow } from './spatial-window.js';

const NAME = tf.Conv2DBackpropFilter;

/** Conv2DBackpropFilter's attributes, plus the optional `dilations` tfjs itself never sends. */
export type Conv2DBackpropFilterKernelAttrs = tf.Conv2DBackpropFilterAttrs & {
  dilations?: [number, number] | number;
};

/**
 * Conv2DBackpropFilter built from kernels the wasm backend has: the gradient of `tf.conv2d` with
 * respect to its filter, dW[kh,kw,ci,co] = Σ_{n,oh,ow} x[n, oh·s + kh·d − padTop, ow·s + kw·d − padLeft, ci]
 * · dy[n,oh,ow,co] (zero outside x). Inputs x [N,H,W,Ci] and dy [N,OH,OW,Co] (NHWC, or NCHW when
 * `dataFormat` says so); returns dW [KH,KW,Ci,Co] = `filterShape`, owned by the caller. Padding
 * (number, 'same', 'valid', explicit) and rounding are resolved by tfjs's computeConv2DInfo, as in
 * the forward pass.
 */
export function conv2dBackpropFilter(args: { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap }): tf.Tensor4D {
  const attrs = args.attrs as unknown as Conv2DBackpropFilterKernelAttrs;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  return tf.tidy(() => {
    let x = kernelInput<tf.Rank.R4>(args.inputs, 'x', NAME);
    let dy = kernelInput<tf.Rank.R4>(args.inputs, 'dy', NAME);
    if (dataFormat === 'NCHW') {
      x = tf.transpose(x, [0, 2, 3, 1]);
      dy = tf.transpose(dy, [0, 2, 3, 1]);
    }
    const info = tf.backend_util.computeConv2DInfo(
      x.shape,
      filterShape,
      strides,
      attrs.dilations ?? 1,
      pad,
      dimRoundingMode,
      false,
      'channelsLast'
    );
    const expected = [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
    if (dy.shape.some((d, i) => d !== expected[i])) {
      throw new ShapeError(
        `${NAME}: dy must be ${formatShape(expected)} (NHWC) for x ${formatShape(x.shape)} ` +
          `and filterShape ${formatShape(filterShape)}, got ${formatShape(dy.shape)}`
      );
    }
    return filterGradient(convWindow(x, info), dy, info);
  });
}

/**
 * dW [KH,KW,Ci,Co] from the conv window xw [N,eH,eW,Ci] (see convWindow) and dy [N,OH,OW,Co].
 * Strategies, fastest first on tfjs-wasm 4.22 (ResNet-50 shapes, see the kernels report):
 * 1×1 stride 1 is one matMul; otherwise a convolution with batch and channels swapped (x as
 * [Ci,eH,eW,N], dy as a filter [OH,OW,N,Co], conv stride = dilation, conv dilation = stride), which
 * tfjs allows only when the stride or the dilation is 1; else one matMul per filter tap.
 */
function filterGradient(xw: tf.Tensor4D, dy: tf.Tensor4D, info: tf.backend_util.Conv2DInfo): tf.Tensor4D {
  const { batchSize: n, inChannels: ci, outChannels: co, outHeight: oh, outWidth: ow } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  const rows = n * oh * ow;
  if (kh === 1 && kw === 1 && sh === 1 && sw === 1) {
    const xt = tf.reshape(tf.transpose(xw, [3, 0, 1, 2]), [ci, rows]); // [Ci, N·OH·OW]
    return tf.reshape(tf.matMul(xt, tf.reshape(dy, [rows, co])), [1, 1, ci, co]);
  }
  if ((sh === 1 && sw === 1) || (dh === 1 && dw === 1)) {
    const xt = tf.transpose(xw, [3, 1, 2, 0]); // [Ci, eH, eW, N]
    const f = tf.transpose(dy, [1, 2, 0, 3]); // [OH, OW, N, Co]
    const g = tf.conv2d(xt, f, [dh, dw], 'valid', 'NHWC', [sh, sw]); // [Ci, KH, KW, Co]
    return tf.transpose(g, [1, 2, 0, 3]);
  }
  const xt = tf.transpose(xw, [3, 0, 1, 2]); // [Ci, N, eH, eW]
  const dy2 = tf.reshape(dy, [rows, co]);
  const taps: tf.Tensor2D[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const end = [ci, n, i * dh + (oh - 1) * sh + 1, j * dw + (ow - 1) * sw + 1];
      const tap = tf.stridedSlice(xt, [0, 0, i * dh, j * dw], end, [1, 1, sh, sw]); // [Ci, N, OH, OW]
      taps.push(tf.matMul(tf.reshape(tap, [ci, rows]), dy2));
    }
  }
  return tf.reshape(tf.stack(taps), [kh, kw, ci, co]);
}

/** Registration record of {@link conv2dBackpropFilter} for the wasm backend. */
export const conv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: withFlushedInputs(conv2dBackpropFilter as unknown as tf.KernelFunc, ['x', 'dy']),
};
