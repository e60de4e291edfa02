import type * as tf from '@tensorflow/tfjs-core';
import type { Module } from '@residual/core';

/**
 * An extra block run after the FPN's top-down pathway (torchvision's `ExtraFPNBlock`): from the FPN
 * outputs `p` (fine → coarse) and the FPN inputs `c` it computes extra, coarser maps named
 * `names` in order, each at twice the stride of the one before. Results are new tensors the caller
 * owns; `p` and `c` are kept. Registered in the FPN as `extra_blocks`.
 */
export interface ExtraFpnBlock extends Module {
  /** Names of the extra maps, in output order (e.g. ['pool'] or ['p6', 'p7']). */
  readonly names: readonly string[];
  /** Channels of each extra map, given the FPN's `outChannels`. */
  outChannels(fpnOutChannels: number): number;
  /** The extra maps [N,h,w,C] (NHWC), one per name; caller owns them. */
  forward(p: readonly tf.Tensor4D[], c: readonly tf.Tensor4D[]): tf.Tensor4D[];
}
