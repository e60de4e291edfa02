import * as tf from '@tensorflow/tfjs-core';
import { expectNoLeak, useBackend } from '@residual/test-utils';
import { ConvTranspose2d, ValueError } from '@residual/core';

beforeAll(async () => {
  await useBackend();
});

describe('ConvTranspose2d', () => {
  it('scatters each input pixel into a k×k block for kernel 2, stride 2', async () => {
    const up = new ConvTranspose2d(1, 1, 2, { stride: 2, bias: false });
    // torch weight [in=1, out=1, 2, 2] = [[1, 2], [3, 4]].
    const w = tf.tensor4d([1, 2, 3, 4], [1, 1, 2, 2]);
    up.loadStateDict({ weight: w });
    const x = tf.tensor4d([1, 10], [1, 1, 2, 1]);
    await expectNoLeak(() => {
      const y = up.forward(x);
      expect(y.shape).toEqual([1, 2, 4, 1]);
      expect(Array.from(y.dataSync())).toEqual([1, 2, 10, 20, 3, 4, 30, 40]);
      return y;
    });
    tf.dispose([w, x]);
    up.dispose();
  });

  it('crops padding and appends outputPadding: H\' = (H−1)s − 2p + k + op', () => {
    const up = new ConvTranspose2d(2, 3, 3, { stride: 2, padding: 1, outputPadding: 1 });
    const x = tf.zeros([1, 5, 4, 2]) as tf.Tensor4D;
    const y = up.forward(x);
    expect(y.shape).toEqual([1, 10, 8, 3]);
    tf.dispose([x, y]);
    up.dispose();
  });

  it('stores torch weight [in, out/groups, kH, kW] in state dicts', () => {
    const up = new ConvTranspose2d(4, 6, 3, { groups: 2 });
    const sd = up.stateDict();
    expect([...sd].map(([k, t]) => [k, t.shape])).toEqual([['weight', [4, 3, 3, 3]], ['bias', [6]]]);
    tf.dispose([...sd.values()]);
    up.dispose();
  });

  it('rejects outputPadding that is not smaller than stride or dilation', () => {
    expect(() => new ConvTranspose2d(2, 2, 3, { stride: 2, outputPadding: 2 })).toThrow(
      new ValueError(
        'ConvTranspose2d: outputPadding must be smaller than stride or dilation, got outputPadding [2, 2], stride [2, 2], dilation [1, 1]',
      ),
    );
  });
});
