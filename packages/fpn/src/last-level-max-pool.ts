import * as tf from '@tensorflow/tfjs-core';
import { Module } from '@residual/core';
import type { ExtraFpnBlock } from './extra-fpn-block.js';

/**
 * torchvision's `LastLevelMaxPool`: one extra map 'pool' = max_pool2d(P_last, kernel 1, stride 2),
 * i.e. every second row and column of the coarsest FPN output starting at 0, size ⌊(h−1)/2⌋+1.
 * No parameters.
 */
export class LastLevelMaxPool extends Module implements ExtraFpnBlock {
  readonly names = ['pool'] as const;

  /** 'pool' keeps the FPN's channel count. */
  outChannels(fpnOutChannels: number): number {
    return fpnOutChannels;
  }

  /** [pool] with pool [N,⌊(h−1)/2⌋+1,⌊(w−1)/2⌋+1,C] from p's last map; caller owns it. */
  forward(p: readonly tf.Tensor4D[]): tf.Tensor4D[] {
    const last = p[p.length - 1];
    const [, h, w] = last.shape;
    // A 1×1 max pool with stride 2 and no padding takes rows and columns 0, 2, 4, …; gathers (not
    // stridedSlice, which has no gradient in tfjs) keep it differentiable.
    return [tf.tidy(() => tf.gather(tf.gather(last, evenIndices(h), 1), evenIndices(w), 2) as tf.Tensor4D)];
  }
}

function evenIndices(size: number): Int32Array {
  const out = new Int32Array(Math.floor((size - 1) / 2) + 1);
  for (let i = 0; i < out.length; i++) out[i] = 2 * i;
  return out;
}
