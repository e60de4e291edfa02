import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { expectAllClose, expectNoLeak, fixturePath, loadFixture, useBackend } from '@residual/test-utils';
import { ShapeError } from '@residual/core';
import { onCpu, onWasm, seeded } from './kernels-helpers.js';

// Gradients are sums of up to N·OH·OW ≈ 500 float32 products; wasm and cpu add them in different
// orders, so results agree to ~n·ε relative to Σ|terms|, not to 1e-5 of a partly cancelled sum.
const TOL = { rtol: 1e-4, atol: 1e-4 };

type Pad = 'valid' | 'same' | number | [[0, 0], [number, number], [number, number], [0, 0]];
interface ConvCase {
  name: string;
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number | [number, number];
  pad: Pad;
}

const CASES: ConvCase[] = [
  { name: '3×3, stride 1, same, odd sizes', x: [2, 7, 5, 3], filter: [3, 3, 3, 4], strides: 1, pad: 'same' },
  {
    name: '3×3, stride 2, same on even sizes (0 before, 1 after)',
    x: [2, 8, 8, 3],
    filter: [3, 3, 3, 2],
    strides: 2,
    pad: 'same',
  },
  { name: '5×4, strides [2, 1], valid', x: [3, 9, 11, 2], filter: [5, 4, 2, 3], strides: [2, 1], pad: 'valid' },
  {
    name: '7×7 stem, stride 2, explicit 3',
    x: [2, 15, 13, 3],
    filter: [7, 7, 3, 5],
    strides: 2,
    pad: [
      [0, 0],
      [3, 3],
      [3, 3],
      [0, 0],
    ],
  },
  { name: '1×1, stride 1 (one matMul)', x: [2, 5, 7, 6], filter: [1, 1, 6, 8], strides: 1, pad: 'valid' },
  { name: '1×1, stride 2 (downsample)', x: [2, 7, 8, 4], filter: [1, 1, 4, 3], strides: 2, pad: 'valid' },
  {
    name: '3×3, stride 2, numeric pad 1, floor drops a row',
    x: [2, 10, 9, 4],
    filter: [3, 3, 4, 4],
    strides: 2,
    pad: 1,
  },
  {
    name: '2×3, stride 3, asymmetric explicit pad',
    x: [1, 10, 11, 2],
    filter: [2, 3, 2, 3],
    strides: 3,
    pad: [
      [0, 0],
      [0, 2],
      [1, 0],
      [0, 0],
    ],
  },
];

function convGrads(c: ConvCase, xv: Float32Array, fv: Float32Array, dyv: Float32Array, dyShape: number[]) {
  return (): tf.Tensor[] => {
    const x = tf.tensor4d(xv, c.x);
    const f = tf.tensor4d(fv, c.filter);
    const dy = tf.tensor(dyv, dyShape);
    return tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad))(
      [x, f],
      dy
    );
  };
}

beforeAll(async () => {
  await useBackend();
});

describe('Conv2DBackpropFilter on wasm', () => {
  it.each(CASES)('matches the cpu backend gradient of tf.conv2d: $name', async (c) => {
    const dyShape = tf.tidy(
      () => tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(c.filter) as tf.Tensor4D, c.strides, c.pad).shape
    );
    const xv = seeded(
      c.x.reduce((a, b) => a * b),
      1
    );
    const fv = seeded(
      c.filter.reduce((a, b) => a * b),
      2
    );
    const dyv = seeded(
      dyShape.reduce((a, b) => a * b),
      3
    );
    const [dxWasm, dfWasm] = onWasm(convGrads(c, xv, fv, dyv, dyShape));
    const [dxCpu, dfCpu] = await onCpu(convGrads(c, xv, fv, dyv, dyShape));
    expectAllClose(dfWasm, dfCpu, TOL);
    expectAllClose(dxWasm, dxCpu, TOL);
  });

  it('computes the 1×1 filter gradient by hand: Σ x·dy over every pixel', () => {
    // x [1,2,2,1] = 1,2,3,4; dy [1,2,2,2] = (1,0),(0,1),(1,1),(2,-1) → dW = [1+3+8, 2+3-4].
    const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
    const dy = tf.tensor4d([1, 0, 0, 1, 1, 1, 2, -1], [1, 2, 2, 2]);
    const attrs = { strides: 1, pad: 'valid', dataFormat: 'NHWC', filterShape: [1, 1, 1, 2] };
    const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs) as tf.Tensor;
    expect(dw.shape).toEqual([1, 1, 1, 2]);
    expect(Array.from(dw.dataSync())).toEqual([12, 1]);
    tf.dispose([x, dy, dw]);
  });

  it('accepts NCHW inputs and returns the same filter gradient as for NHWC', () => {
    const x = tf.tensor4d(seeded(2 * 6 * 5 * 3, 8), [2, 6, 5, 3]);
    const dy = tf.tensor4d(seeded(2 * 3 * 3 * 4, 9), [2, 3, 3, 4]);
    const attrs = { strides: 2, pad: 'same', filterShape: [3, 2, 3, 4] };
    const run = (format: string, a: tf.Tensor, b: tf.Tensor) =>
      tf.engine().runKernel('Conv2DBackpropFilter', { x: a, dy: b }, { ...attrs, dataFormat: format }) as tf.Tensor;
    const nhwc = run('NHWC', x, dy);
    const xt = tf.transpose(x, [0, 3, 1, 2]);
    const dyt = tf.transpose(dy, [0, 3, 1, 2]);
    const nchw = run('NCHW', xt, dyt);
    expectAllClose(nchw, nhwc, TOL);
    tf.dispose([x, dy, xt, dyt, nhwc, nchw]);
  });

  it('rejects dy whose shape does not fit x, filterShape and the strides', () => {
    const x = tf.zeros([1, 5, 5, 2]);
    const dy = tf.zeros([1, 4, 4, 3]);
    const attrs = { strides: 1, pad: 'valid', dataFormat: 'NHWC', filterShape: [3, 3, 2, 3] };
    expect(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs)).toThrow(
      new ShapeError(
        'Conv2DBackpropFilter: dy must be [1,3,3,3] (NHWC) for x [1,5,5,2] and filterShape [3,3,2,3], got [1,4,4,3]'
      )
    );
    tf.dispose([x, dy]);
  });
});

describe('Conv2DBackpropFilter with dilation (PyTorch 1.13 autograd reference)', () => {
  type Meta = Record<string, { stride: number[]; padding: number[]; dilation: number[] }>;
  let fixture: ReturnType<typeof loadFixture>;
  let meta: Meta;
  beforeAll(() => {
    // Loaded after useBackend so that the tensors live on wasm.
    fixture = loadFixture(fixturePath(path.join(__dirname, '..'), 'kernels.safetensors'));
    meta = JSON.parse(fixture.metadata.cases) as Meta;
  });
  afterAll(() => tf.dispose([...fixture.tensors.values()]));

  it.each(['conv_s1_d2', 'conv_s2_d2', 'conv_s2_d1x2'])('matches torch weight.grad for %s', (name) => {
    const t = (k: string): tf.Tensor => fixture.tensors.get(`${name}.${k}`) as tf.Tensor;
    const { stride, padding, dilation } = meta[name];
    const [ph, pw] = padding;
    const attrs = {
      strides: stride,
      pad: [
        [0, 0],
        [ph, ph],
        [pw, pw],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dilations: dilation,
      filterShape: t('dw').shape,
    };
    const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x: t('x'), dy: t('dy') }, attrs) as tf.Tensor;
    expectAllClose(dw, t('dw'), TOL);
    dw.dispose();
  });
});

describe('wasm gradient kernels and memory', () => {
  const c = CASES[3];
  const x = (): tf.Tensor4D => tf.tensor4d(seeded(2 * 15 * 13 * 3, 4), c.x);

  it('leaves no tensor behind when tf.grads computes conv2d gradients', async () => {
    const xs = x();
    const f = tf.tensor4d(seeded(7 * 7 * 3 * 5, 5), c.filter);
    await expectNoLeak(() =>
      tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, c.pad)))([xs, f])
    );
    tf.dispose([xs, f]);
  });

  it('keeps only the result when the gradient is taken inside tf.tidy', () => {
    const xs = x();
    const f = tf.tensor4d(seeded(7 * 7 * 3 * 5, 5), c.filter);
    const before = tf.memory().numTensors;
    const norm = tf.tidy(() =>
      tf.norm(tf.grad((b: tf.Tensor) => tf.sum(tf.conv2d(xs, b as tf.Tensor4D, 2, c.pad)))(f))
    );
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(norm.dataSync()[0]).toBeGreaterThan(0);
    tf.dispose([xs, f, norm]);
  });

  it('gives tf.variableGrads the cpu backend gradient and frees everything else', async () => {
    const fv = seeded(7 * 7 * 3 * 5, 6);
    const xv = seeded(2 * 15 * 13 * 3, 7);
    const loss = (xs: tf.Tensor4D, w: tf.Tensor4D): tf.Scalar => tf.sum(tf.square(tf.conv2d(xs, w, 2, c.pad)));
    const [expected] = await onCpu(() =>
      tf.grad((w: tf.Tensor) => loss(tf.tensor4d(xv, c.x), w as tf.Tensor4D))(tf.tensor4d(fv, c.filter))
    );
    const v = tf.variable(tf.tensor4d(fv, c.filter));
    const xs = tf.tensor4d(xv, c.x);
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => loss(xs, v as unknown as tf.Tensor4D));
    expectAllClose(grads[v.name], expected, TOL);
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([v, xs]);
  });
});
