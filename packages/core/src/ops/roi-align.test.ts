import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { expectAllClose, expectNoLeak, fixturePath, loadFixture, maxAbsDiff, useBackend } from '@residual/test-utils';
import { ShapeError, ValueError, roiAlign } from '@residual/core';

const FIXTURE = fixturePath(path.resolve(__dirname, '../..'), 'ops_roi_align.safetensors');

interface Case {
  outputSize: [number, number];
  spatialScale: number;
  samplingRatio: number;
  aligned: boolean;
  perImage: boolean;
}

let fixture: ReturnType<typeof loadFixture>;
let cases: Record<string, Case>;

beforeAll(async () => {
  await useBackend();
  fixture = loadFixture(FIXTURE);
  cases = JSON.parse(fixture.metadata.cases) as Record<string, Case>;
});

afterAll(() => fixture.tensors.forEach((t) => t.dispose()));

function get<T extends tf.Tensor>(name: string): T {
  const t = fixture.tensors.get(name);
  if (!t) throw new Error(`fixture has no ${name}`);
  return t as T;
}

function run(name: string, input: tf.Tensor4D): tf.Tensor4D {
  const c = cases[name];
  const rois = c.perImage
    ? Array.from({ length: input.shape[0] }, (_, b) => get<tf.Tensor2D>(`${name}.boxes${b}`))
    : get<tf.Tensor2D>(`${name}.rois`);
  return roiAlign(input, rois, c.outputSize, c.spatialScale, c.samplingRatio, c.aligned);
}

// detectron2 tests/layers/test_roi_align.py: a 5×5 ramp, box (1,1,3,3), 4×4 output, adaptive sampling.
describe('roiAlign hand-computed (detectron2 test_roi_align)', () => {
  const ramp = (): tf.Tensor4D => tf.reshape(tf.range(0, 25, 1, 'float32'), [1, 5, 5, 1]) as tf.Tensor4D;

  it('samples the legacy grid without the half-pixel shift when aligned is false', () => {
    const out = tf.tidy(() => roiAlign(ramp(), tf.tensor2d([[0, 1, 1, 3, 3]]), 4, 1, 0, false));
    // Bin centres fall at 1.25, 1.75, … : the −0.5 misalignment trained into Faster R-CNN weights.
    expectAllClose(out, tf.tensor4d([7.5, 8, 8.5, 9, 10, 10.5, 11, 11.5, 12.5, 13, 13.5, 14, 15, 15.5, 16, 16.5], [1, 4, 4, 1]));
    out.dispose();
  });

  it('upsamples [[6, 7], [11, 12]] when aligned is true (half-pixel correction)', () => {
    const out = tf.tidy(() => roiAlign(ramp(), tf.tensor2d([[0, 1, 1, 3, 3]]), 4, 1, 0, true));
    expectAllClose(out, tf.tensor4d([4.5, 5, 5.5, 6, 7, 7.5, 8, 8.5, 9.5, 10, 10.5, 11, 12, 12.5, 13, 13.5], [1, 4, 4, 1]));
    out.dispose();
  });
});

describe('roiAlign parity with torchvision 0.14', () => {
  const names = [
    'nal_sr2_s025', 'al_sr2_s025', 'nal_adapt_s16', 'al_adapt_s16', 'al_adapt_s1', 'nal_adapt_s1_list', 'nal_sr2_s025_list',
  ];

  it.each(names)('matches torchvision forward for case %s', (name) => {
    const out = run(name, get<tf.Tensor4D>(`${name}.input`));
    expectAllClose(out, get(`${name}.out`));
    out.dispose();
  });

  it.each(names)('matches torchvision input gradient of sum(out·cotangent) for case %s', (name) => {
    const input = get<tf.Tensor4D>(`${name}.input`);
    const cot = get(`${name}.cot`);
    // d/dx sum(out·cot) is the vector-Jacobian product with dy = cot (tfjs-core's CJS build registers no
    // gradients for Sum/Mul; roiAlign's own gradient is all this needs).
    const grad = tf.grad((x: tf.Tensor) => run(name, x as tf.Tensor4D))(input, cot);
    expectAllClose(grad, get(`${name}.grad`));
    grad.dispose();
  });

  it('reports its max errors', () => {
    const errs = names.map((name) => {
      const out = run(name, get<tf.Tensor4D>(`${name}.input`));
      const e = maxAbsDiff(out, get(`${name}.out`));
      out.dispose();
      return e;
    });
    expect(Math.max(...errs)).toBeLessThan(1e-5);
  });
});

describe('roiAlign memory and validation', () => {
  const input = (): tf.Tensor4D => tf.ones([2, 6, 5, 3]);

  it('leaks no tensors in the forward pass (one output)', async () => {
    const x = input();
    const rois = tf.tensor2d([[1, 0, 0, 4, 4], [0, 1, 1, 3, 5]]);
    await expectNoLeak(() => roiAlign(x, rois, [2, 3], 1, 2, false));
    x.dispose();
    rois.dispose();
  });

  it('leaks no tensors when differentiated (one gradient)', async () => {
    const x = input();
    const boxes = [tf.tensor2d([[0, 0, 4, 4]]), tf.tensor2d([[1, 1, 3, 5], [2, 0, 5, 6]])];
    await expectNoLeak(() => tf.grad((t: tf.Tensor) => roiAlign(t as tf.Tensor4D, boxes, 2, 0.5, -1, true))(x));
    x.dispose();
    boxes.forEach((b) => b.dispose());
  });

  it('returns an empty [0,oh,ow,C] tensor for zero RoIs', () => {
    const x = input();
    const out = roiAlign(x, tf.zeros([0, 5]) as tf.Tensor2D, [2, 3]);
    expect(out.shape).toEqual([0, 2, 3, 3]);
    tf.dispose([x, out]);
  });

  it('reads zeros for a RoI entirely outside the map', () => {
    const x = input();
    const out = roiAlign(x, tf.tensor2d([[0, 20, 20, 30, 30]]), 2, 1, 2, false);
    expect(Array.from(out.dataSync())).toEqual(new Array(12).fill(0));
    tf.dispose([x, out]);
  });

  it('rejects a batch index outside the batch', () => {
    const x = input();
    expect(() => roiAlign(x, tf.tensor2d([[2, 0, 0, 1, 1]]), 2)).toThrow(
      new ValueError('roiAlign: rois[0] has batch index 2, expected an integer in [0, 1]'),
    );
    x.dispose();
  });

  it('rejects rois that are neither [K,5] nor one [K,4] per image', () => {
    const x = input();
    expect(() => roiAlign(x, tf.zeros([3, 4]) as tf.Tensor2D, 2)).toThrow(new ShapeError('roiAlign: rois must be [N,5], got [3,4]'));
    expect(() => roiAlign(x, [tf.zeros([1, 4]) as tf.Tensor2D], 2)).toThrow(
      new ShapeError('roiAlign: rois must hold one [K,4] tensor per image (2), got 1'),
    );
    x.dispose();
  });

  it('rejects a non-integer output size', () => {
    const x = input();
    expect(() => roiAlign(x, tf.zeros([1, 5]) as tf.Tensor2D, [2.5, 2])).toThrow(
      new ValueError('roiAlign: outputSize must be a positive integer or [h, w] of them, got [2.5,2]'),
    );
    x.dispose();
  });
});
