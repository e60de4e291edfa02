import * as tf from '@tensorflow/tfjs-core';
import { expectAllClose, expectNoLeak, useBackend } from '@residual/test-utils';
import { ShapeError, ValueError } from '@residual/core';
import { onCpu, onWasm, seeded } from './kernels-helpers.js';

// Each gradient row sums at most a handful of dy rows: float32 sums of that size agree to ~1e-6.
const TOL = { rtol: 1e-5, atol: 1e-6 };

interface GatherCase {
  name: string;
  x: number[];
  indices: number[];
  indicesShape: number[];
  axis: number;
}

const CASES: GatherCase[] = [
  { name: 'rows with duplicates, axis 0', x: [6, 5], indices: [0, 3, 3, 5, 0, 0, 2], indicesShape: [7], axis: 0 },
  { name: '3-D x, axis 1', x: [2, 5, 3], indices: [4, 4, 1, 0, 4], indicesShape: [5], axis: 1 },
  { name: '2-D indices, last axis', x: [3, 4], indices: [3, 1, 3, 3, 0, 1], indicesShape: [2, 3], axis: 1 },
  { name: 'rows never gathered get zero', x: [9, 2], indices: [8, 1], indicesShape: [2], axis: 0 },
];

function gatherGrad(c: GatherCase, xv: Float32Array, dyv: Float32Array, dyShape: number[]) {
  return (): tf.Tensor => {
    const indices = tf.tensor(c.indices, c.indicesShape, 'int32');
    return tf.grad((x: tf.Tensor) => tf.gather(x, indices, c.axis))(tf.tensor(xv, c.x), tf.tensor(dyv, dyShape));
  };
}

beforeAll(async () => {
  await useBackend();
});

describe('UnsortedSegmentSum on wasm', () => {
  it.each(CASES)('gives tf.gather the cpu backend gradient: $name', async (c) => {
    const dyShape = [...c.x.slice(0, c.axis), ...c.indicesShape, ...c.x.slice(c.axis + 1)];
    const xv = seeded(
      c.x.reduce((a, b) => a * b),
      21
    );
    const dyv = seeded(
      dyShape.reduce((a, b) => a * b),
      22
    );
    const [wasm] = onWasm(gatherGrad(c, xv, dyv, dyShape));
    const [cpu] = await onCpu(gatherGrad(c, xv, dyv, dyShape));
    expectAllClose(wasm, cpu, TOL);
  });

  it('sums the rows of each segment and drops ids outside [0, numSegments)', () => {
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], [5, 2]);
    const ids = tf.tensor1d([0, -1, 2, 0, 3], 'int32');
    const out = tf.unsortedSegmentSum(x, ids, 3);
    expect(out.shape).toEqual([3, 2]);
    expect(out.arraySync()).toEqual([
      [8, 10],
      [0, 0],
      [5, 6],
    ]);
    tf.dispose([x, ids, out]);
  });

  it('never writes outside its output for out-of-range ids (a neighbouring tensor is intact)', () => {
    const guard = tf.fill([64], 7);
    const x = tf.ones([4, 16]);
    const ids = tf.tensor1d([1, 100000, -5, 2], 'int32');
    const out = tf.unsortedSegmentSum(x, ids, 2);
    expect(Array.from(out.dataSync())).toEqual([...new Array(16).fill(0), ...new Array(16).fill(1)]);
    expect(Array.from(guard.dataSync())).toEqual(new Array(64).fill(7));
    tf.dispose([guard, x, ids, out]);
  });

  it('keeps int32 values and dtype, and takes segment ids over several leading axes', () => {
    const x = tf.tensor3d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [2, 2, 3], 'int32');
    const ids = tf.tensor2d([1, 0, 1, 1], [2, 2], 'int32');
    // tf.unsortedSegmentSum's types allow only 1-D ids; the kernel (like TensorFlow's) takes any prefix.
    const out = tf.engine().runKernel('UnsortedSegmentSum', { x, segmentIds: ids }, { numSegments: 2 }) as tf.Tensor;
    expect(out.dtype).toBe('int32');
    expect(out.arraySync()).toEqual([
      [4, 5, 6],
      [1 + 7 + 10, 2 + 8 + 11, 3 + 9 + 12],
    ]);
    tf.dispose([x, ids, out]);
  });

  it('returns [0, D] for zero segments', () => {
    const x = tf.ones([3, 2]);
    const ids = tf.tensor1d([0, 1, 2], 'int32');
    const out = tf.unsortedSegmentSum(x, ids, 0);
    expect(out.shape).toEqual([0, 2]);
    tf.dispose([x, ids, out]);
  });

  it('rejects a negative numSegments', () => {
    const x = tf.ones([3, 2]);
    const ids = tf.tensor1d([0, 1, 2], 'int32');
    expect(() => tf.unsortedSegmentSum(x, ids, -1)).toThrow(
      new ValueError('UnsortedSegmentSum: numSegments must be a non-negative integer, got -1')
    );
    tf.dispose([x, ids]);
  });

  it('rejects segment ids that are not a prefix of the shape of x', () => {
    const x = tf.ones([4, 2]);
    const ids = tf.tensor1d([0, 1, 2], 'int32');
    expect(() => tf.unsortedSegmentSum(x, ids, 3)).toThrow(
      new ShapeError("UnsortedSegmentSum: segmentIds must be a prefix of x's shape [4,2], got [3]")
    );
    tf.dispose([x, ids]);
  });

  it('leaves no tensor behind when tf.grad differentiates tf.gather', async () => {
    const x = tf.tensor2d(seeded(40, 23), [10, 4]);
    const indices = tf.tensor1d([1, 1, 9, 0], 'int32');
    await expectNoLeak(() => tf.grad((a: tf.Tensor) => tf.sum(tf.gather(a, indices)))(x));
    tf.dispose([x, indices]);
  });
});
