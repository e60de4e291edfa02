import * as tf from '@tensorflow/tfjs-core';
import { expectNoLeak, useBackend } from '@residual/test-utils';
import { Generator, Linear, ShapeError } from '@residual/core';

beforeAll(async () => {
  await useBackend();
});

describe('Linear', () => {
  it('computes x·Wᵀ + b over the last dim of any rank, with torch weight [out, in]', async () => {
    const fc = new Linear(2, 3);
    const sd = { weight: tf.tensor2d([[1, 0], [0, 1], [1, 1]]), bias: tf.tensor1d([0, 10, 100]) };
    fc.loadStateDict(sd);
    const x = tf.tensor3d([1, 2, 3, 4], [1, 2, 2]);
    await expectNoLeak(() => {
      const y = fc.forward(x);
      expect(y.arraySync()).toEqual([[[1, 12, 103], [3, 14, 107]]]);
      return y;
    });
    tf.dispose([x, ...Object.values(sd)]);
    fc.dispose();
  });

  it('leaves out the bias when bias is false and initialises U(±1/√in)', () => {
    const fc = new Linear(16, 300, { bias: false, generator: new Generator(3) });
    expect([...fc.namedParameters().keys()]).toEqual(['weight']);
    const w = fc.weight.dataSync();
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(0.25);
    expect(Math.max(...w.map(Math.abs))).toBeGreaterThan(0.249);
    fc.dispose();
  });

  it('rejects an input whose last dim is not inFeatures', () => {
    const fc = new Linear(4, 2);
    const x = tf.zeros([3, 5]);
    expect(() => fc.forward(x)).toThrow(new ShapeError('Linear.forward: x must be [..., 4], got [3,5]'));
    x.dispose();
    fc.dispose();
  });
});
