import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { expectAllClose, expectNoLeak, fixturePath, loadFixture, useBackend } from '@residual/test-utils';
import { ShapeError } from '@residual/core';
import { onCpu, onWasm, seeded } from './kernels-helpers.js';

// Sums of up to N·OH·OW (filter) or KH·KW·M (input) float32 products added in another order than
// the cpu backend's loops: agreement is ~n·ε of Σ|terms|, so 1e-4, not 1e-5, of partly cancelled sums.
const TOL = { rtol: 1e-4, atol: 1e-4 };

type Pad = 'valid' | 'same' | number | [[0, 0], [number, number], [number, number], [0, 0]];
interface DepthwiseCase {
  name: string;
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number | [number, number];
  pad: Pad;
}

const CASES: DepthwiseCase[] = [
  { name: '3×3, M 1, stride 1, same', x: [2, 7, 6, 3], filter: [3, 3, 3, 1], strides: 1, pad: 'same' },
  { name: '3×3, M 2, stride 2, same on even sizes', x: [2, 8, 8, 3], filter: [3, 3, 3, 2], strides: 2, pad: 'same' },
  {
    name: '5×3, M 3, strides [1, 2], valid, odd sizes',
    x: [3, 9, 11, 2],
    filter: [5, 3, 2, 3],
    strides: [1, 2],
    pad: 'valid',
  },
  { name: '3×3, M 1, stride 2, numeric pad 1', x: [2, 10, 9, 4], filter: [3, 3, 4, 1], strides: 2, pad: 1 },
  {
    name: '4×2, M 2, stride 3, asymmetric explicit pad',
    x: [1, 11, 10, 2],
    filter: [4, 2, 2, 2],
    strides: 3,
    pad: [
      [0, 0],
      [2, 0],
      [0, 1],
      [0, 0],
    ],
  },
  { name: '1×1, M 4, stride 1', x: [2, 5, 4, 3], filter: [1, 1, 3, 4], strides: 1, pad: 'valid' },
];

function depthwiseGrads(c: DepthwiseCase, xv: Float32Array, fv: Float32Array, dyv: Float32Array, dyShape: number[]) {
  return (): tf.Tensor[] => {
    const x = tf.tensor4d(xv, c.x);
    const f = tf.tensor4d(fv, c.filter);
    const dy = tf.tensor(dyv, dyShape);
    const conv = (a: tf.Tensor, b: tf.Tensor) =>
      tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad);
    return tf.grads(conv)([x, f], dy);
  };
}

beforeAll(async () => {
  await useBackend();
});

describe('DepthwiseConv2dNativeBackpropInput / BackpropFilter on wasm', () => {
  it.each(CASES)('match the cpu backend gradients of tf.depthwiseConv2d: $name', async (c) => {
    const dyShape = tf.tidy(
      () => tf.depthwiseConv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(c.filter) as tf.Tensor4D, c.strides, c.pad).shape
    );
    const xv = seeded(
      c.x.reduce((a, b) => a * b),
      11
    );
    const fv = seeded(
      c.filter.reduce((a, b) => a * b),
      12
    );
    const dyv = seeded(
      dyShape.reduce((a, b) => a * b),
      13
    );
    const [dxWasm, dfWasm] = onWasm(depthwiseGrads(c, xv, fv, dyv, dyShape));
    const [dxCpu, dfCpu] = await onCpu(depthwiseGrads(c, xv, fv, dyv, dyShape));
    expectAllClose(dxWasm, dxCpu, TOL);
    expectAllClose(dfWasm, dfCpu, TOL);
  });

  it('spreads dy back through the flipped filter and sums the channel multiplier (by hand)', () => {
    // 1×1 input channel, M 2, 2×1 filter (a = 1, 2 | b = 10, 20), stride 2, valid, x 4×1 → dy 2×1×2.
    // dx[ih] = Σ_m dy[oh, m]·f[ih − 2·oh, m]: dy = (1, 0), (0, 1) → dx = 1, 10, 2, 20.
    const dy = tf.tensor4d([1, 0, 0, 1], [1, 2, 1, 2]);
    const f = tf.tensor4d([1, 2, 10, 20], [2, 1, 1, 2]);
    const attrs = { strides: 2, pad: 'valid', dilations: 1, inputShape: [1, 4, 1, 1] };
    const dx = tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter: f }, attrs) as tf.Tensor;
    expect(dx.shape).toEqual([1, 4, 1, 1]);
    expect(Array.from(dx.dataSync())).toEqual([1, 10, 2, 20]);
    tf.dispose([dy, f, dx]);
  });

  it('rejects dy whose shape does not fit inputShape, the filter and the strides', () => {
    const dy = tf.zeros([1, 3, 3, 2]);
    const filter = tf.zeros([3, 3, 2, 2]);
    const attrs = { strides: 1, pad: 'valid', dilations: 1, inputShape: [1, 5, 5, 2] };
    expect(() => tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter }, attrs)).toThrow(
      new ShapeError(
        'DepthwiseConv2dNativeBackpropInput: dy must be [1,3,3,4] (NHWC) for inputShape [1,5,5,2] ' +
          'and filter [3,3,2,2], got [1,3,3,2]'
      )
    );
    tf.dispose([dy, filter]);
  });

  it('leaves no tensor behind when tf.grads computes depthwise gradients', async () => {
    const x = tf.tensor4d(seeded(2 * 8 * 8 * 3, 14), [2, 8, 8, 3]);
    const f = tf.tensor4d(seeded(3 * 3 * 3 * 2, 15), [3, 3, 3, 2]);
    await expectNoLeak(() =>
      tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'))
      )([x, f])
    );
    tf.dispose([x, f]);
  });
});

describe('depthwise gradients with dilation (PyTorch 1.13 autograd reference, groups = channels)', () => {
  type Meta = Record<string, { stride: number[]; padding: number[]; dilation: number[] }>;
  let fixture: ReturnType<typeof loadFixture>;
  let meta: Meta;
  beforeAll(() => {
    // Loaded after useBackend so that the tensors live on wasm.
    fixture = loadFixture(fixturePath(path.join(__dirname, '..'), 'kernels.safetensors'));
    meta = JSON.parse(fixture.metadata.cases) as Meta;
  });
  afterAll(() => tf.dispose([...fixture.tensors.values()]));

  it.each(['dw_s1_d2_m2', 'dw_s2_d2_m1'])('match torch x.grad and weight.grad for %s', (name) => {
    const t = (k: string): tf.Tensor => fixture.tensors.get(`${name}.${k}`) as tf.Tensor;
    const { stride, padding, dilation } = meta[name];
    const [ph, pw] = padding;
    const common = {
      strides: stride,
      pad: [
        [0, 0],
        [ph, ph],
        [pw, pw],
        [0, 0],
      ],
      dilations: dilation,
    };
    const dw = tf
      .engine()
      .runKernel(
        'DepthwiseConv2dNativeBackpropFilter',
        { x: t('x'), dy: t('dy') },
        { ...common, filterShape: t('filter').shape }
      ) as tf.Tensor;
    const dx = tf
      .engine()
      .runKernel(
        'DepthwiseConv2dNativeBackpropInput',
        { dy: t('dy'), filter: t('filter') },
        { ...common, inputShape: t('x').shape }
      ) as tf.Tensor;
    expectAllClose(dw, t('dw'), TOL);
    expectAllClose(dx, t('dx'), TOL);
    tf.dispose([dw, dx]);
  });
});
