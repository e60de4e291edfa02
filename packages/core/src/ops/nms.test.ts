import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { expectNoLeak, fixturePath, loadFixture, useBackend } from '@residual/test-utils';
import { ShapeError, batchedNms, nms } from '@residual/core';

// Reference: tools/fixtures/core_ops.py (torchvision 0.14 nms / batched_nms on CPU).
let fixture: ReturnType<typeof loadFixture>;
let thresholds: Record<string, number>;
const get = <T extends tf.Tensor>(name: string): T => {
  const t = fixture.tensors.get(name);
  if (!t) throw new Error(`fixture has no ${name}`);
  return t as T;
};
const values = (t: tf.Tensor): number[] => Array.from(t.dataSync());

beforeAll(async () => {
  await useBackend();
  fixture = loadFixture(fixturePath(path.resolve(__dirname, '../..'), 'ops_nms.safetensors'));
  thresholds = JSON.parse(fixture.metadata.cases) as Record<string, number>;
});

afterAll(() => fixture.tensors.forEach((t) => t.dispose()));

describe('nms', () => {
  it.each(['random', 'ties', 'exact_keep', 'exact_drop', 'nan', 'empty', 'large'])(
    'returns exactly torchvision’s kept indices for case %s',
    (name) => {
      const keep = nms(get(`${name}.boxes`), get(`${name}.scores`), thresholds[name]);
      expect(keep.dtype).toBe('int32');
      expect(values(keep)).toEqual(values(get(`${name}.keep`)));
      keep.dispose();
    },
  );

  it('keeps a box whose IoU equals iouThreshold (suppression needs IoU > threshold)', () => {
    expect(values(get('exact_keep.keep'))).toEqual([0, 1, 2]);
    expect(values(get('exact_drop.keep'))).toEqual([0, 2]);
  });

  it('keeps the lower index among equal scores (stable descending sort)', () => {
    const keep = tf.tidy(() => nms(tf.tensor2d([[0, 0, 2, 2], [0, 0, 2, 2], [5, 5, 6, 6]]), tf.tensor1d([0.5, 0.5, 0.5]), 0.5));
    expect(values(keep)).toEqual([0, 2]);
    keep.dispose();
  });

  it('rejects scores that do not match the boxes', () => {
    expect(() => nms(tf.zeros([3, 4]) as tf.Tensor2D, tf.zeros([2]) as tf.Tensor1D, 0.5)).toThrow(
      new ShapeError('nms: scores must be [3] (one per box), got [2]'),
    );
  });

  it('leaks no tensors (one output)', async () => {
    await expectNoLeak(() => nms(get('random.boxes'), get('random.scores'), 0.5));
  });
});

describe('batchedNms', () => {
  it.each(['batched_small', 'batched_distinct', 'batched_empty'])('returns exactly torchvision’s indices for %s', (name) => {
    const keep = batchedNms(get(`${name}.boxes`), get(`${name}.scores`), get(`${name}.idxs`), thresholds[name]);
    expect(keep.dtype).toBe('int32');
    expect(values(keep)).toEqual(values(get(`${name}.keep`)));
    keep.dispose();
  });

  it('keeps the same boxes as torchvision above 1000 boxes, ties ordered by ascending index', () => {
    // torchvision sorts this path with an unstable sort, so only the set and the score order must match.
    const name = 'batched_large';
    const keep = batchedNms(get(`${name}.boxes`), get(`${name}.scores`), get(`${name}.idxs`), thresholds[name]);
    const ours = values(keep);
    const ref = values(get(`${name}.keep`));
    const scores = get(`${name}.scores`).dataSync();
    expect([...ours].sort((a, b) => a - b)).toEqual([...ref].sort((a, b) => a - b));
    expect(ours.map((i) => scores[i])).toEqual(ref.map((i) => scores[i]));
    for (let i = 1; i < ours.length; i++) {
      if (scores[ours[i]] === scores[ours[i - 1]]) expect(ours[i]).toBeGreaterThan(ours[i - 1]);
    }
    keep.dispose();
  });

  it('never suppresses across categories', () => {
    const keep = tf.tidy(() =>
      batchedNms(tf.tensor2d([[0, 0, 2, 2], [0, 0, 2, 2], [0, 0, 2, 2]]), tf.tensor1d([0.9, 0.8, 0.7]), tf.tensor1d([0, 1, 0], 'int32'), 0.5),
    );
    expect(values(keep)).toEqual([0, 1]);
    keep.dispose();
  });

  it('rejects float category indices', () => {
    expect(() => batchedNms(tf.zeros([2, 4]) as tf.Tensor2D, tf.zeros([2]) as tf.Tensor1D, tf.zeros([2]) as tf.Tensor1D, 0.5)).toThrow(
      new ShapeError('batchedNms: idxs must be int32, got float32'),
    );
  });

  it('leaks no tensors on either path (one output each)', async () => {
    for (const name of ['batched_small', 'batched_large', 'batched_empty']) {
      await expectNoLeak(() => batchedNms(get(`${name}.boxes`), get(`${name}.scores`), get(`${name}.idxs`), 0.5));
    }
  });
});
