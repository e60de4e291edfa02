import * as tf from '@tensorflow/tfjs-core';
import { expectAllClose, expectNoLeak, useBackend } from '@residual/test-utils';
import { FrozenBatchNorm2d } from '@residual/core';

beforeAll(async () => {
  await useBackend();
});

function loaded(eps?: number): { bn: FrozenBatchNorm2d; dispose: () => void } {
  const bn = new FrozenBatchNorm2d(2, eps === undefined ? {} : { eps });
  const sd = {
    weight: tf.tensor1d([2, 1]),
    bias: tf.tensor1d([0, -1]),
    running_mean: tf.tensor1d([1, 0]),
    running_var: tf.tensor1d([4, 1]),
    num_batches_tracked: tf.scalar(5, 'int32'),
  };
  expect(bn.loadStateDict(sd)).toEqual({ missingKeys: [], unexpectedKeys: [] });
  return { bn, dispose: () => tf.dispose(Object.values(sd)) };
}

describe('FrozenBatchNorm2d', () => {
  it('applies x·scale + shift from its buffers and silently drops num_batches_tracked', async () => {
    const { bn, dispose } = loaded(0);
    const x = tf.tensor4d([3, 2], [1, 1, 1, 2]);
    await expectNoLeak(() => {
      const y = bn.forward(x);
      expectAllClose(y, [2, 1]); // (3 − 1)/2·2 + 0, (2 − 0)/1·1 − 1
      return y;
    });
    expect(bn.parameters()).toEqual([]);
    expect([...bn.namedBuffers().keys()]).toEqual(['weight', 'bias', 'running_mean', 'running_var']);
    tf.dispose(x);
    dispose();
    bn.dispose();
  });

  it('reads eps at each forward, so builders can set frozenBnEps after construction', () => {
    const { bn, dispose } = loaded();
    expect(bn.eps).toBe(1e-5);
    const x = tf.tensor4d([3, 2], [1, 1, 1, 2]);
    const before = bn.forward(x);
    bn.eps = 0;
    const after = bn.forward(x);
    expectAllClose(after, [2, 1], { rtol: 0, atol: 0 });
    expect(Math.abs(before.dataSync()[0] - 2)).toBeGreaterThan(1e-6);
    tf.dispose([x, before, after]);
    dispose();
    bn.dispose();
  });
});
