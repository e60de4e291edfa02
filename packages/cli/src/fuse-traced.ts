import * as tf from '@tensorflow/tfjs-core';
import { fuseForInference, ValueError, type InferenceFusion, type Module } from '@residual/core';

/** Side of the zero image that traces the fusion: small, yet every ResNet stage still sees a map (stride 32 → 2×2). */
const TRACE_SIZE = 64;

/**
 * `fuseForInference(module)` (each Conv + BatchNorm (+ ReLU) runs as one fused conv), traced at once:
 * fuseForInference learns where a ReLU follows from the first eval call, which runs unfused, so one
 * forward of a 64×64 zero image is made here. Every real input then runs fused, and results do not
 * depend on which input came first (the workers of `detect --workers` each see a different first
 * image). `forward` is the image [N,H,W,3] → features call of `module` (a detector's backbone, a
 * classifier). The module must be in eval mode; call `unfuse()` before `dispose()` (the folded weights
 * are tensors of their own) or before training.
 */
export function fuseTraced(module: Module, forward: (x: tf.Tensor4D) => unknown): InferenceFusion {
  if (module.training) throw new ValueError('fuseTraced: the module must be in eval mode (call eval() first)');
  const fusion = fuseForInference(module);
  try {
    tf.tidy(() => {
      forward(tf.zeros([1, TRACE_SIZE, TRACE_SIZE, 3]));
    });
  } catch (e) {
    fusion.unfuse();
    throw e;
  }
  return fusion;
}
