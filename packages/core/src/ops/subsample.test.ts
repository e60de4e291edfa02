import * as tf from '@tensorflow/tfjs-core';
import { expectNoLeak, useBackend } from '@residual/test-utils';
import { subsample, ValueError } from '@residual/core';

beforeAll(async () => {
  await useBackend();
});

describe('subsample', () => {
  let x: tf.Tensor4D;
  beforeAll(() => {
    x = tf.tensor4d(Array.from({ length: 2 * 5 * 4 * 3 }, (_, i) => i), [2, 5, 4, 3]);
  });
  afterAll(() => x.dispose());

  it('takes rows and columns 0, s, 2s, … of every image and channel', async () => {
    await expectNoLeak(() => {
      const y = subsample(x, 2);
      expect(y.shape).toEqual([2, 3, 2, 3]);
      const xv = x.arraySync();
      const expected = xv.map((img) => [0, 2, 4].map((r) => [0, 2].map((c) => img[r][c])));
      expect(y.arraySync()).toEqual(expected);
      return y;
    });
  });

  it('passes the gradient back to the sampled positions only', async () => {
    await expectNoLeak(() => {
      const g = tf.grad((v: tf.Tensor) => tf.sum(subsample(v as tf.Tensor4D, 3)))(x);
      const gv = g.arraySync() as number[][][][];
      for (let r = 0; r < 5; r++) for (let c = 0; c < 4; c++) {
        expect(gv[1][r][c][2]).toBe(r % 3 === 0 && c % 3 === 0 ? 1 : 0);
      }
      return g;
    });
  });

  it('rejects a non-positive stride', () => {
    expect(() => subsample(x, 0)).toThrow(ValueError);
    expect(() => subsample(x, 0)).toThrow('subsample: stride must be a positive integer, got 0');
  });
});
