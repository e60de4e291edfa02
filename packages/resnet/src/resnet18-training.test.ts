import * as tf from '@tensorflow/tfjs-core';
import { SGD, crossEntropy } from '@residual/core';
import { expectNoLeak, useBackend } from '@residual/test-utils';
import { resnet18 } from '@residual/resnet';
import { HashGenerator } from '../test/test-generators.js';

beforeAll(async () => {
  await useBackend();
});

describe('resnet18 training on wasm', () => {
  it('lowers the loss of a two-class stripes task within 6 SGD steps, leaking nothing per step', async () => {
    const model = resnet18({ numClasses: 2, generator: new HashGenerator(5) }).train();
    // Class 0: horizontal stripes, class 1: vertical stripes (32×32, 4 images, phase varies).
    const { x, y } = tf.tidy(() => {
      const wave = (i: number) => tf.sin(tf.mul(tf.add(tf.range(0, 32), i), Math.PI / 4));
      const images = [0, 1, 2, 3].map((i) =>
        tf.tile(tf.reshape(i % 2 === 0 ? tf.tile(tf.reshape(wave(i), [32, 1]), [1, 32]) : tf.tile(tf.reshape(wave(i), [1, 32]), [32, 1]), [32, 32, 1]), [1, 1, 3]),
      );
      return { x: tf.stack(images) as tf.Tensor4D, y: tf.tensor1d([0, 1, 0, 1], 'int32') };
    });
    const params = [...model.trainableParameters().values()];
    const optimizer = new SGD(params, { lr: 0.01, momentum: 0.9 });
    const step = (): number => {
      const { value, grads } = tf.variableGrads(() => crossEntropy(model.forward(x), y), params);
      const loss = value.dataSync()[0];
      optimizer.step(grads);
      tf.dispose([value, grads]);
      return loss;
    };
    const losses = [step()]; // the first step allocates the momentum buffers
    for (let i = 0; i < 5; i++) losses.push(await expectNoLeak(step));
    expect(losses[5]).toBeLessThan(0.5 * losses[0]);
    optimizer.dispose();
    model.dispose();
    tf.dispose([x, y]);
  });
});
