import * as tf from '@tensorflow/tfjs-core';
import { expectNoLeak, useBackend } from '@residual/test-utils';

beforeAll(async () => {
  await useBackend();
});

describe('Identity on wasm shares data instead of copying', () => {
  it('clones without new memory, and each clone outlives the original', () => {
    const x = tf.tensor1d([1, 2, 3]);
    const buffers = tf.memory().numDataBuffers;
    const y = tf.clone(x);
    expect(tf.memory().numDataBuffers).toBe(buffers); // one buffer, two tensors
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3]);
    y.dispose();
  });

  it('keeps gradients right and leaks nothing when a gradient saves its inputs', async () => {
    const w = tf.variable(tf.tensor2d([[1, 2], [3, 4]]));
    const x = tf.tensor2d([[1, 1]]);
    const gradient = (): number[] => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(tf.matMul(x, w))) as tf.Scalar, [w]);
      const g = Array.from(grads[w.name].dataSync());
      tf.dispose([value, ...Object.values(grads)]);
      return g;
    };
    // d/dW Σ (xW)² = 2·xᵀ·(xW), xW = [4, 6]
    expect(await expectNoLeak(gradient)).toEqual([8, 12, 8, 12]);
    tf.dispose([x, w]);
  });

  it('lets a variable assigned from a clone keep its value after the source is disposed', () => {
    const v = tf.variable(tf.zeros([2]));
    const source = tf.tensor1d([5, 6]);
    v.assign(tf.clone(source) as tf.Tensor1D);
    source.dispose();
    expect(Array.from(v.dataSync())).toEqual([5, 6]);
    v.dispose();
  });
});
