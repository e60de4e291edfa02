import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { expectAllClose, expectNoLeak, fixturePath, loadFixture, useBackend } from '@residual/test-utils';
import {
  ShapeError,
  ValueError,
  boxArea,
  boxConvert,
  boxIou,
  clipBoxesToImage,
  removeSmallBoxes,
  type BoxFormat,
} from '@residual/core';

// Reference: tools/fixtures/core_ops.py (torchvision 0.14 ops.boxes).
let fixture: ReturnType<typeof loadFixture>;
const get = <T extends tf.Tensor>(name: string): T => {
  const t = fixture.tensors.get(name);
  if (!t) throw new Error(`fixture has no ${name}`);
  return t as T;
};

beforeAll(async () => {
  await useBackend();
  fixture = loadFixture(fixturePath(path.resolve(__dirname, '../..'), 'ops_boxes.safetensors'));
});

afterAll(() => fixture.tensors.forEach((t) => t.dispose()));

describe('boxArea', () => {
  it('computes (x2 − x1)·(y2 − y1) as torchvision, including zero-area boxes', () => {
    const out = boxArea(get('iou.a'));
    expectAllClose(out, get('area.out'), { rtol: 0, atol: 0 });
    out.dispose();
  });

  it('rejects boxes that are not [N,4]', () => {
    expect(() => boxArea(tf.zeros([5, 5]) as tf.Tensor2D)).toThrow(new ShapeError('boxArea: boxes must be [N,4], got [5,5]'));
  });
});

describe('boxIou', () => {
  it('matches torchvision box_iou, with NaN for two zero-area boxes', () => {
    const out = boxIou(get('iou.a'), get('iou.b'));
    expectAllClose(out, get('iou.out'));
    const values = out.dataSync();
    // Row 12 (zero-area [3,3,3,3]) against column 6 (the same point): 0/0.
    expect(Number.isNaN(values[12 * 8 + 6])).toBe(true);
    out.dispose();
  });

  it('gives exactly 0.5 for boxes [0,0,3,1] and [1,0,4,1] (intersection 2, union 4)', () => {
    const out = tf.tidy(() => boxIou(tf.tensor2d([[0, 0, 3, 1]]), tf.tensor2d([[1, 0, 4, 1], [10, 10, 11, 11]])));
    expect(Array.from(out.dataSync())).toEqual([0.5, 0]);
    out.dispose();
  });

  it('rejects boxes2 that are not [M,4]', () => {
    expect(() => boxIou(tf.zeros([2, 4]) as tf.Tensor2D, tf.zeros([5, 5]) as tf.Tensor2D)).toThrow(
      new ShapeError('boxIou: boxes2 must be [N,4], got [5,5]'),
    );
  });
});

describe('clipBoxesToImage', () => {
  it('clamps x to [0, width] and y to [0, height] as torchvision', () => {
    const out = clipBoxesToImage(get('clip.in'), [20, 30]);
    expectAllClose(out, get('clip.out'), { rtol: 0, atol: 0 });
    out.dispose();
  });

  it('rejects a negative size', () => {
    expect(() => clipBoxesToImage(tf.zeros([1, 4]) as tf.Tensor2D, [-1, 3])).toThrow(
      new ValueError('clipBoxesToImage: size must be [height, width] with sizes ≥ 0, got [-1,3]'),
    );
  });
});

describe('removeSmallBoxes', () => {
  it('keeps boxes with both sides ≥ minSize (inclusive), ascending int32 indices as torchvision', () => {
    const keep = removeSmallBoxes(get('small.in'), 2.0);
    expect(keep.dtype).toBe('int32');
    expect(Array.from(keep.dataSync())).toEqual(Array.from(get('small.keep').dataSync()));
    expect(Array.from(keep.dataSync())).toEqual([0, 3, 5]);
    keep.dispose();
  });
});

describe('boxConvert', () => {
  const fmts: BoxFormat[] = ['xyxy', 'xywh', 'cxcywh'];
  const pairs = fmts.flatMap((a) => fmts.map((b) => [a, b] as const));

  it.each(pairs)('converts %s → %s as torchvision box_convert', (inFmt, outFmt) => {
    const out = boxConvert(get(`convert.from_xyxy.${inFmt}`), inFmt, outFmt);
    expectAllClose(out, get(`convert.${inFmt}.${outFmt}`), { rtol: 0, atol: 0 });
    out.dispose();
  });

  it('rejects an unknown format', () => {
    expect(() => boxConvert(tf.zeros([1, 4]) as tf.Tensor2D, 'yxyx' as BoxFormat, 'xyxy')).toThrow(
      new ValueError('boxConvert: inFmt must be one of xyxy, xywh, cxcywh, got "yxyx"'),
    );
  });
});

describe('box ops memory', () => {
  it('leak no tensors (each returns one tensor)', async () => {
    const a = tf.tensor2d([[0, 0, 2, 2], [1, 1, 4, 3]]);
    await expectNoLeak(() => boxArea(a));
    await expectNoLeak(() => boxIou(a, a));
    await expectNoLeak(() => clipBoxesToImage(a, [2, 3]));
    await expectNoLeak(() => removeSmallBoxes(a, 1));
    await expectNoLeak(() => boxConvert(a, 'xyxy', 'cxcywh'));
    await expectNoLeak(() => boxConvert(a, 'xyxy', 'xyxy'));
    a.dispose();
  });
});
