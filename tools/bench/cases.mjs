// The bench's cases: what each measures, its goal (issue 9: ratio of our time to PyTorch's on the
// same machine in the same run), and how to build it in tfjs. tools/bench/torch_bench.py builds the
// same ids on the PyTorch side.
import * as tf from '@tensorflow/tfjs-core';
import { Generator, SGD, crossEntropy } from '@residual/core';
import { resnet50 } from '@residual/resnet';
import { maeVitBasePatch16 } from '@residual/mae';

/**
 * id → { label(batch), goal (max ratio ours/torch, or null when issue 9 sets none), build(batch) }.
 * build returns { step(): void (disposes what it makes), dispose(): void }. Inputs are NHWC here,
 * NCHW on the torch side (each framework's native layout), with the same number of elements.
 */
export const CASES = {
  'resnet50-fwd': { label: (n) => `ResNet-50 224 forward, batch ${n}`, goal: 1.5, build: (n) => resnetForward(n) },
  'mae-base-fwdbwd': { label: (n) => `MAE-base fwd+bwd, batch ${n}`, goal: 2, build: (n) => maeForwardBackward(n) },
  'resnet50-train': { label: (n) => `ResNet-50 224 train step, batch ${n}`, goal: null, build: (n) => resnetTrainStep(n) },
};

/** Issue 9's memory goal: peak memory at most this multiple of PyTorch's for the same work. */
export const MEMORY_GOAL = 1.5;

function resnetForward(n) {
  const gen = new Generator(0);
  const model = resnet50({ generator: gen }).eval();
  const x = gen.normalTensor([n, 224, 224, 3]);
  return {
    step: () => {
      const logits = model.forward(x);
      logits.dataSync(); // wait for the backend (a no-op wait on wasm/cpu, needed on async ones)
      logits.dispose();
    },
    dispose: () => {
      x.dispose();
      model.dispose();
    },
  };
}

function resnetTrainStep(n) {
  const gen = new Generator(0);
  const model = resnet50({ generator: gen }).train();
  const params = [...model.trainableParameters().values()];
  const optimizer = new SGD(params, { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
  const x = gen.normalTensor([n, 224, 224, 3]);
  const y = tf.tensor1d(Array.from({ length: n }, () => gen.randint(1000)), 'int32');
  return {
    step: () => {
      const { value, grads } = tf.variableGrads(() => crossEntropy(model.forward(x), y), params);
      optimizer.step(grads);
      value.dataSync();
      tf.dispose([value, grads]);
    },
    dispose: () => {
      tf.dispose([x, y]);
      optimizer.dispose();
      model.dispose();
    },
  };
}

function maeForwardBackward(n) {
  const gen = new Generator(0);
  const model = maeVitBasePatch16({ generator: gen }).train();
  const params = [...model.trainableParameters().values()];
  const x = gen.normalTensor([n, 224, 224, 3]);
  return {
    step: () => {
      // The tidy inside variableGrads frees pred and mask; only the loss and the grads come out.
      const { value, grads } = tf.variableGrads(() => model.forward(x, { maskRatio: 0.75 }).loss, params);
      value.dataSync();
      tf.dispose([value, grads]);
    },
    dispose: () => {
      x.dispose();
      model.dispose();
    },
  };
}
