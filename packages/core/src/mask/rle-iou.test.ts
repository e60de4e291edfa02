import * as fs from 'node:fs';
import * as path from 'node:path';
import { fixturePath } from '@residual/test-utils';
import { ValueError, bboxIou, rleFromString, rleIou, type Rle } from '@residual/core';

type IouCase = { name: string; size: [number, number]; dt: string[]; gt: string[]; iscrowd: number[]; iou: number[][] };
type Fixture = { iou: IouCase[]; bboxIou: { dt: number[][]; gt: number[][]; iscrowd: number[]; iou: number[][] }[] };
const fx = JSON.parse(
  fs.readFileSync(fixturePath(path.join(__dirname, '..', '..'), 'mask.json'), 'utf8'),
) as Fixture;

function maxDiff(a: number[][], b: number[][]): number {
  expect(a.map((r) => r.length)).toEqual(b.map((r) => r.length));
  return Math.max(0, ...a.flatMap((r, i) => r.map((v, j) => Math.abs(v - b[i][j]))));
}

// 3×3 masks (column-major runs): a = left column, b = left two columns, c = right column
const a: Rle = { size: [3, 3], counts: [0, 3, 6] };
const b: Rle = { size: [3, 3], counts: [0, 6, 3] };
const c: Rle = { size: [3, 3], counts: [6, 3] };

describe('rleIou', () => {
  it('is intersection over union, as ious[dt][gt] (hand-computed)', () => {
    expect(rleIou([a, c], [b], [false])).toEqual([[3 / 6], [0]]);
  });

  it('divides by the detection area when the gt is a crowd region', () => {
    expect(rleIou([b], [a], [true])).toEqual([[3 / 6]]);
    expect(rleIou([a], [b], [1])).toEqual([[1]]);
  });

  it('matches pycocotools iou (crowd and non-crowd, empty, full, disjoint) to 1e-12', () => {
    for (const t of fx.iou) {
      const dt = t.dt.map((s) => ({ size: t.size, counts: s }));
      const gt = t.gt.map((s) => rleFromString(s, t.size));
      expect([t.name, maxDiff(rleIou(dt, gt, t.iscrowd), t.iou)]).toEqual([t.name, 0]);
    }
  });

  it('gives one empty row per detection when there is no gt, and no rows without detections', () => {
    expect(rleIou([a, b], [], [])).toEqual([[], []]);
    expect(rleIou([], [a], [false])).toEqual([]);
  });

  it('rejects masks of different sizes', () => {
    expect(() => rleIou([a], [{ size: [9, 1], counts: [9] }], [false])).toThrow(
      new ValueError('rleIou: gt[0].size is [9,1], expected [3,3] (all masks of one image)'),
    );
  });

  it('rejects an iscrowd list whose length is not the number of gts', () => {
    expect(() => rleIou([a], [a, b], [false])).toThrow('rleIou: iscrowd must have one entry per gt (2), got 1 entries');
  });

  it('names a malformed RLE', () => {
    expect(() => rleIou([a, { size: [3, 3], counts: '11' }], [b], [0])).toThrow(
      'rleIou: dt[1].counts must sum to h·w = 9 for size [3,3], got 2',
    );
  });
});

describe('bboxIou', () => {
  it('is intersection over union of [x, y, w, h] boxes; touching boxes score 0 (hand-computed)', () => {
    expect(bboxIou([[0, 0, 2, 2], [2, 0, 2, 2]], [[1, 0, 2, 2]], [false])).toEqual([[1 / 3], [1 / 3]]);
    expect(bboxIou([[0, 0, 2, 2]], [[2, 0, 2, 2], [0, 0, 4, 4]], [0, 1])).toEqual([[0, 1]]);
  });

  it('matches pycocotools iou on boxes to 1e-12', () => {
    for (const t of fx.bboxIou) expect(maxDiff(bboxIou(t.dt, t.gt, t.iscrowd), t.iou)).toBeLessThanOrEqual(1e-12);
  });

  it('rejects a box that is not 4 finite numbers', () => {
    expect(() => bboxIou([[0, 0, 1]], [[0, 0, 1, 1]], [0])).toThrow(
      'bboxIou: dt[0] must be [x, y, w, h] (4 finite numbers), got [0,0,1]',
    );
  });
});
