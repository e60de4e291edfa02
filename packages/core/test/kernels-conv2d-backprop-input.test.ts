import * as tf from '@tensorflow/tfjs-core';
import { expectAllClose, expectNoLeak, useBackend } from '@residual/test-utils';
import { onCpu, onWasm, seeded } from './kernels-helpers.js';

// Sums of up to KH·KW·Co products added in a different order on each backend (see the filter test).
const TOL = { rtol: 1e-4, atol: 1e-4 };

type Pad = 'valid' | 'same' | number | [[0, 0], [number, number], [number, number], [0, 0]];
const CASES: Array<{ name: string; x: [number, number, number, number]; filter: [number, number, number, number]; strides: number | [number, number]; pad: Pad }> = [
  { name: '3×3, stride 1, same, odd sizes', x: [2, 7, 5, 8], filter: [3, 3, 8, 4], strides: 1, pad: 'same' },
  { name: '3×3, stride 2, numeric pad 1, floor drops a row', x: [2, 10, 9, 8], filter: [3, 3, 8, 6], strides: 2, pad: 1 },
  { name: '3×3, stride 2, same on even sizes (0 before, 1 after)', x: [1, 8, 8, 16], filter: [3, 3, 16, 5], strides: 2, pad: 'same' },
  { name: '5×4, strides [2, 1], valid', x: [3, 9, 11, 8], filter: [5, 4, 8, 3], strides: [2, 1], pad: 'valid' },
  { name: '1×1, stride 2 (downsample)', x: [2, 7, 8, 12], filter: [1, 1, 12, 3], strides: 2, pad: 'valid' },
  { name: '2×3, stride 3, asymmetric explicit pad', x: [1, 10, 11, 9], filter: [2, 3, 9, 3], strides: 3, pad: [[0, 0], [0, 2], [1, 0], [0, 0]] },
  { name: '7×7 stem, 3 channels (native kernel)', x: [2, 15, 13, 3], filter: [7, 7, 3, 5], strides: 2, pad: [[0, 0], [3, 3], [3, 3], [0, 0]] },
];

beforeAll(async () => {
  await useBackend();
});

describe('Conv2DBackpropInput on wasm (as a stride-1 convolution)', () => {
  it.each(CASES)('equals the cpu backend for the input gradient of conv2d: $name', async ({ x, filter, strides, pad }) => {
    const xv = seeded(x.reduce((a, b) => a * b), 1);
    const fv = seeded(filter.reduce((a, b) => a * b), 2);
    const grad = () => {
      const xt = tf.tensor4d(xv, x);
      const ft = tf.tensor4d(fv, filter);
      const f = (v: tf.Tensor) => {
        const y = tf.conv2d(v as tf.Tensor4D, ft, strides, pad);
        return tf.sum(tf.mul(y, tf.tensor(seeded(y.size, 3), y.shape)));
      };
      return tf.grad(f)(xt);
    };
    const [expected] = await onCpu(grad);
    const [actual] = onWasm(grad);
    expectAllClose(actual, expected, TOL);
  });

  it('gives conv2dTranspose the cpu backend result', async () => {
    const run = () =>
      tf.conv2dTranspose(tf.tensor4d(seeded(2 * 4 * 5 * 6, 4), [2, 4, 5, 6]), tf.tensor4d(seeded(2 * 2 * 8 * 6, 5), [2, 2, 8, 6]), [2, 8, 10, 8], 2, 'valid');
    const [expected] = await onCpu(run);
    const [actual] = onWasm(run);
    expectAllClose(actual, expected, TOL);
  });

  it('leaves no tensors behind', async () => {
    const xt = tf.tensor4d(seeded(2 * 6 * 6 * 8, 6), [2, 6, 6, 8]);
    const ft = tf.tensor4d(seeded(3 * 3 * 8 * 4, 7), [3, 3, 8, 4]);
    await expectNoLeak(() => tf.grad((v: tf.Tensor) => tf.sum(tf.conv2d(v as tf.Tensor4D, ft, 2, 1)))(xt));
    tf.dispose([xt, ft]);
  });
});
