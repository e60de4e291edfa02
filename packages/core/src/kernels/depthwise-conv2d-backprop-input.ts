import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, formatShape } from '../errors.js';
import { withFlushedInputs } from './flush-denormal-inputs.js';
import { kernelInput } from './kernel-input.js';
import { padOrCrop, spreadByStride } from './spatial-window.js';

const NAME = tf.DepthwiseConv2dNativeBackpropInput;

/**
 * DepthwiseConv2dNativeBackpropInput built from kernels the wasm backend has: the gradient of
 * `tf.depthwiseConv2d` with respect to its input, dx[n,ih,iw,c] = Σ dy[n,oh,ow,c·M+m] · f[kh,kw,c,m]
 * over all (oh,kh) with oh·s + kh·d − padTop = ih (likewise columns) and all m. Inputs dy
 * [N,OH,OW,C·M] and filter [KH,KW,C,M] (NHWC); returns dx = `inputShape` [N,H,W,C], owned by the
 * caller. Padding and rounding are resolved by tfjs's computeConv2DInfo, as in the forward pass.
 *
 * Method: spread dy by the stride (zeros between rows and columns), pad it so that every input
 * pixel sees its full (dilated) filter extent, and run a stride-1 depthwise convolution with the
 * spatially flipped filter; the M products of each input channel are then summed.
 */
export function depthwiseConv2dBackpropInput(args: {
  inputs: tf.NamedTensorInfoMap;
  attrs?: tf.NamedAttrMap;
}): tf.Tensor4D {
  const attrs = args.attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  const { strides, dilations, pad, dimRoundingMode, inputShape } = attrs;
  return tf.tidy(() => {
    const dy = kernelInput<tf.Rank.R4>(args.inputs, 'dy', NAME);
    const filter = kernelInput<tf.Rank.R4>(args.inputs, 'filter', NAME);
    const info = tf.backend_util.computeConv2DInfo(
      inputShape,
      filter.shape,
      strides,
      dilations ?? 1,
      pad,
      dimRoundingMode,
      true
    );
    const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
    const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
    const { dilationHeight: dh, dilationWidth: dw, padInfo } = info;
    const cm = info.outChannels;
    if (dy.shape.some((d, i) => d !== [n, oh, ow, cm][i])) {
      throw new ShapeError(
        `${NAME}: dy must be ${formatShape([n, oh, ow, cm])} (NHWC) for inputShape ${formatShape(inputShape)} ` +
          `and filter ${formatShape(filter.shape)}, got ${formatShape(dy.shape)}`
      );
    }
    const spread = spreadByStride(dy, sh, sw); // [N, OH·sh, OW·sw, C·M]
    const top = (kh - 1) * dh - padInfo.top;
    const left = (kw - 1) * dw - padInfo.left;
    const rows = h + (kh - 1) * dh;
    const cols = w + (kw - 1) * dw;
    const padded = padOrCrop(spread, [top, rows - top - oh * sh], [left, cols - left - ow * sw]);
    const flipped = tf.reshape<tf.Rank.R4>(tf.reverse(filter, [0, 1]), [kh, kw, cm, 1]);
    const dx = tf.depthwiseConv2d(padded, flipped, 1, 'valid', 'NHWC', [dh, dw]); // [N, H, W, C·M]
    const m = cm / c;
    return m === 1 ? dx : tf.sum(tf.reshape(dx, [n, h, w, c, m]), 4);
  });
}

/** Registration record of {@link depthwiseConv2dBackpropInput} for the wasm backend. */
export const depthwiseConv2dBackpropInputConfig: tf.KernelConfig = {
  kernelName: NAME,
  backendName: 'wasm',
  kernelFunc: withFlushedInputs(depthwiseConv2dBackpropInput as unknown as tf.KernelFunc, ['dy', 'filter']),
};
