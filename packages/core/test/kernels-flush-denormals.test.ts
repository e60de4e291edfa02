import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '@residual/test-utils';
import { flushDenormalInputs } from '../src/kernels/flush-denormal-inputs.js';

const FLT_MIN = 1.1754943508222875e-38; // smallest normal float32
const SUBNORMAL = 1e-40;

beforeAll(async () => {
  await useBackend();
});

/** Signs kept: −0 is distinguishable from +0 only through 1/x. */
function signedValues(t: tf.Tensor): number[] {
  return Array.from(t.dataSync()).map((v) => (Object.is(v, -0) ? -0 : v));
}

describe('flush-to-zero of gradient kernel inputs on wasm', () => {
  it('replaces subnormals by signed zeros and keeps normals, zeros, NaN and Inf', () => {
    const x = tf.tensor1d([SUBNORMAL, -SUBNORMAL, FLT_MIN, -FLT_MIN, 1, 0, NaN, Infinity, -Infinity]);
    flushDenormalInputs(tf.backend(), { x }, ['x']);
    expect(signedValues(x)).toEqual([0, -0, Math.fround(FLT_MIN), -Math.fround(FLT_MIN), 1, 0, NaN, Infinity, -Infinity]);
    x.dispose();
  });

  it('leaves int32 inputs and unnamed inputs alone', () => {
    const i = tf.tensor1d([1, 2], 'int32');
    const y = tf.tensor1d([SUBNORMAL]);
    flushDenormalInputs(tf.backend(), { i, y }, ['i']);
    expect(Array.from(i.dataSync())).toEqual([1, 2]);
    expect(y.dataSync()[0]).toBeGreaterThan(0);
    tf.dispose([i, y]);
  });

  it('is applied by the transposed matMul that gradients use', () => {
    const a = tf.tensor2d([[SUBNORMAL, 2]]);
    const b = tf.tensor2d([[3, 4]]);
    const y = tf.matMul(a, b, true, false); // aᵀ·b, [2,2]
    expect(Array.from(y.dataSync())).toEqual([0, 0, 6, 8]);
    tf.dispose([a, b, y]);
  });

  it('is applied by the conv gradient kernels (dy flushed before use)', () => {
    const x = tf.ones([1, 3, 3, 1]) as tf.Tensor4D;
    const dy = tf.fill([1, 3, 3, 1], SUBNORMAL) as tf.Tensor4D;
    const filter = tf.ones([3, 3, 1, 1]) as tf.Tensor4D;
    const dx = tf.conv2dTranspose(dy, filter, [1, 3, 3, 1], 1, 'same');
    const dw = tf.conv2d(x, filter, 1, 'same'); // forward is untouched
    expect(Array.from(dx.dataSync()).every((v) => v === 0)).toBe(true);
    expect(dw.dataSync()[4]).toBe(9);
    tf.dispose([x, dy, filter, dx, dw]);
  });
});
