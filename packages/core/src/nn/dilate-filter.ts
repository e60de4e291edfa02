import * as tf from '@tensorflow/tfjs-core';

/**
 * Spreads a tfjs filter `[kH, kW, I, O]` by inserting `dilation − 1` zero taps between its taps →
 * `[(kH−1)·dH+1, (kW−1)·dW+1, I, O]`. A dilated convolution equals an undilated one with this
 * filter; we use it because tfjs conv gradients reject dilation > 1 and tfjs forbids stride and
 * dilation > 1 together. Returns a new tensor (or `w` itself when the dilation is 1): call inside
 * a tidy.
 */
export function dilateFilter(w: tf.Tensor4D, [dh, dw]: readonly [number, number]): tf.Tensor4D {
  if (dh === 1 && dw === 1) return w;
  const [kh, kw, i, o] = w.shape;
  const io = i * o;
  const eh = (kh - 1) * dh + 1;
  const ew = (kw - 1) * dw + 1;
  let t: tf.Tensor = tf.reshape(w, [kh, 1, kw, io]);
  t = tf.pad(t, [[0, 0], [0, dh - 1], [0, 0], [0, 0]]); // [kH, dH, kW, I·O]
  t = tf.slice(tf.reshape(t, [kh * dh, kw, io]), [0, 0, 0], [eh, kw, io]);
  t = tf.pad(tf.reshape(t, [eh, kw, 1, io]), [[0, 0], [0, 0], [0, dw - 1], [0, 0]]); // [eH, kW, dW, I·O]
  t = tf.slice(tf.reshape(t, [eh, kw * dw, io]), [0, 0, 0], [eh, ew, io]);
  return tf.reshape(t, [eh, ew, i, o]);
}
