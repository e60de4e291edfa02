import * as tf from '@tensorflow/tfjs-core';

/**
 * How a tensor stored in tfjs layout maps to PyTorch's layout. State dicts are always in
 * torch layout; a module converts once, at load and save (parity-spec §0).
 */
export interface TorchLayout {
  /** Human-readable name, used in error messages. */
  readonly name: string;
  /** tfjs tensor → new tensor in torch layout. */
  toTorch(t: tf.Tensor): tf.Tensor;
  /** torch-layout tensor → new tensor in tfjs layout. */
  fromTorch(t: tf.Tensor): tf.Tensor;
  /** The torch shape of a tensor whose tfjs shape is `shape`. */
  torchShape(shape: readonly number[]): number[];
}

/** Same layout on both sides (biases, norms, embeddings). */
export const identityLayout: TorchLayout = {
  name: 'identity',
  toTorch: (t) => t.clone(),
  fromTorch: (t) => t.clone(),
  torchShape: (s) => [...s],
};

/**
 * Conv2d weight: tfjs filter [kH,kW,in,out] ↔ torch [out,in,kH,kW]. The same permutation serves
 * ConvTranspose2d: tfjs [kH,kW,out,in] ↔ torch [in,out,kH,kW].
 */
export const conv2dLayout: TorchLayout = {
  name: 'conv2d',
  toTorch: (t) => tf.transpose(t, [3, 2, 0, 1]),
  fromTorch: (t) => tf.transpose(t, [2, 3, 1, 0]),
  torchShape: (s) => [s[3], s[2], s[0], s[1]],
};

/** Linear weight: tfjs [in,out] (so y = x·W) ↔ torch [out,in]. */
export const linearLayout: TorchLayout = {
  name: 'linear',
  toTorch: (t) => tf.transpose(t),
  fromTorch: (t) => tf.transpose(t),
  torchShape: (s) => [s[1], s[0]],
};
