import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, formatShape } from '../errors.js';
import { Module } from './module.js';
import { toPair, type Size2 } from './pair.js';

/**
 * torch.nn.AdaptiveAvgPool2d on NHWC input: output cell i averages input rows
 * [⌊i·H/oh⌋, ⌈(i+1)·H/oh⌉) (likewise columns), so bins may overlap. 1×1 is the global mean.
 */
export class AdaptiveAvgPool2d extends Module {
  readonly outputSize: [number, number];

  constructor(outputSize: Size2) {
    super();
    this.outputSize = toPair(outputSize, 'outputSize', 'AdaptiveAvgPool2d');
  }

  /** x [N,H,W,C] → [N,oh,ow,C]; caller owns the result. */
  forward(x: tf.Tensor4D): tf.Tensor4D {
    if (x.rank !== 4 || x.shape[1] < 1 || x.shape[2] < 1) {
      throw new ShapeError(`AdaptiveAvgPool2d.forward: x must be NHWC [N,H,W,C] with H, W >= 1, got ${formatShape(x.shape)}`);
    }
    const [oh, ow] = this.outputSize;
    const [, h, w] = x.shape;
    return tf.tidy(() => {
      if (oh === 1 && ow === 1) return tf.mean(x, [1, 2], true);
      if (h % oh === 0 && w % ow === 0) return tf.avgPool(x, [h / oh, w / ow], [h / oh, w / ow], 'valid');
      // A rectangle's mean is the mean over its rows of the row means: pool H, then W.
      return binMeans(binMeans(x, 1, oh), 2, ow);
    });
  }
}

function binMeans(x: tf.Tensor4D, axis: 1 | 2, out: number): tf.Tensor4D {
  const size = x.shape[axis];
  if (size === out) return x;
  const parts: tf.Tensor4D[] = [];
  for (let i = 0; i < out; i++) {
    const start = Math.floor((i * size) / out);
    const end = Math.ceil(((i + 1) * size) / out);
    const begin = [0, 0, 0, 0];
    const len = [...x.shape];
    begin[axis] = start;
    len[axis] = end - start;
    parts.push(tf.mean(tf.slice(x, begin, len), axis, true));
  }
  return tf.concat(parts, axis);
}
