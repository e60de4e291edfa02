import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { expectAllClose, expectNoLeak, fixturePath, loadFixture, maxAbsDiff, useBackend } from '@residual/test-utils';
import { BoxCoder, ShapeError, ValueError } from '@residual/core';

// Reference: tools/fixtures/core_ops.py (torchvision 0.14 models/detection/_utils.BoxCoder).
let fixture: ReturnType<typeof loadFixture>;
const get = <T extends tf.Tensor>(name: string): T => {
  const t = fixture.tensors.get(name);
  if (!t) throw new Error(`fixture has no ${name}`);
  return t as T;
};

beforeAll(async () => {
  await useBackend();
  fixture = loadFixture(fixturePath(path.resolve(__dirname, '../..'), 'ops_box_coder.safetensors'));
});

afterAll(() => fixture.tensors.forEach((t) => t.dispose()));

const WEIGHTS = { w10: [10, 10, 5, 5], w1: [1, 1, 1, 1] } as const;

describe('BoxCoder', () => {
  it.each(Object.keys(WEIGHTS) as Array<keyof typeof WEIGHTS>)('encodes as torchvision encode_single with weights %s', (name) => {
    const coder = new BoxCoder(WEIGHTS[name]);
    const out = coder.encode(get('gt'), get('proposals'));
    expectAllClose(out, get(`${name}.encode`));
    out.dispose();
  });

  it.each(Object.keys(WEIGHTS) as Array<keyof typeof WEIGHTS>)('decodes [N,4K] codes to [N,K,4] as torchvision with weights %s', (name) => {
    const coder = new BoxCoder(WEIGHTS[name]);
    const out = coder.decode(get('rel'), get('proposals'));
    expect(out.shape).toEqual([12, 3, 4]);
    expectAllClose(out, get(`${name}.decode`));
    out.dispose();
  });

  it('clamps dw/dh from above only, at ln(1000/16) by default', () => {
    const coder = new BoxCoder([1, 1, 1, 1]);
    const out = tf.tidy(() => coder.decode(tf.tensor2d([[0, 0, 100, -100]]), tf.tensor2d([[0, 0, 2, 2]])));
    // w = exp(4.135…)·2 = 125 exactly in exact arithmetic; h = exp(−100)·2 ≈ 0 (no lower clamp).
    expectAllClose(out, tf.tensor3d([[[1 - 62.5, 1, 1 + 62.5, 1]]]), { rtol: 1e-5, atol: 1e-5 });
    out.dispose();
  });

  it('round-trips: decode(encode(gt, p), p) recovers gt while no size ratio reaches the clamp', () => {
    const coder = new BoxCoder([10, 10, 5, 5]);
    const gt = tf.tensor2d([[10, 20, 50, 40], [0, 0, 3, 7], [-5, 2, 15, 6]]);
    const proposals = tf.tensor2d([[12, 18, 45, 44], [1, 1, 4, 4], [0, 0, 30, 10]]);
    const back = tf.tidy(() => coder.decode(coder.encode(gt, proposals), proposals));
    expect(maxAbsDiff(back, tf.reshape(gt, [3, 1, 4]))).toBeLessThan(1e-5);
    tf.dispose([gt, proposals, back]);
  });

  it('encodes a hand-computed case: centre shifted by 0.1·width → dx = 10·0.1 = 1, double width → dw = 5·ln 2', () => {
    const coder = new BoxCoder([10, 10, 5, 5]);
    const out = tf.tidy(() => coder.encode(tf.tensor2d([[1, 0, 21, 10]]), tf.tensor2d([[5, 0, 15, 10]])));
    expectAllClose(out, [1, 0, 5 * Math.log(2), 0]);
    out.dispose();
  });

  it('rejects mismatched shapes and zero weights', () => {
    const coder = new BoxCoder([1, 1, 1, 1]);
    expect(() => coder.decode(tf.zeros([2, 6]) as tf.Tensor2D, tf.zeros([2, 4]) as tf.Tensor2D)).toThrow(
      new ShapeError('BoxCoder.decode: relCodes must be [2,4K] (4 codes per class for each box), got [2,6]'),
    );
    expect(() => coder.encode(tf.zeros([2, 4]) as tf.Tensor2D, tf.zeros([3, 4]) as tf.Tensor2D)).toThrow(
      new ShapeError('BoxCoder.encode: proposals must be [2,4] (one per reference box), got [3,4]'),
    );
    expect(() => new BoxCoder([1, 0, 1, 1])).toThrow(new ValueError('BoxCoder: weights must be 4 finite non-zero numbers, got [1,0,1,1]'));
  });

  it('leaks no tensors (one output per call)', async () => {
    const coder = new BoxCoder([10, 10, 5, 5]);
    await expectNoLeak(() => coder.encode(get('gt'), get('proposals')));
    await expectNoLeak(() => coder.decode(get('rel'), get('proposals')));
  });
});
