import * as fs from 'node:fs';
import * as path from 'node:path';
import { fixturePath } from '@residual/test-utils';
import { ValueError, rleMerge, rleToString, type Rle } from '@residual/core';

type Fixture = { merge: { name: string; size: [number, number]; rles: string[]; union: string; intersection: string }[] };
const fx = JSON.parse(
  fs.readFileSync(fixturePath(path.join(__dirname, '..', '..'), 'mask.json'), 'utf8'),
) as Fixture;

// 3×3 masks: a = left column, b = middle row, as column-major runs
const a: Rle = { size: [3, 3], counts: [0, 3, 6] };
const b: Rle = { size: [3, 3], counts: [1, 1, 2, 1, 2, 1, 1] };

describe('rleMerge', () => {
  it('unions by default (hand-computed)', () => {
    // column 0 full, then the middle pixel of columns 1 and 2
    expect(rleMerge([a, b])).toEqual({ size: [3, 3], counts: [0, 3, 1, 1, 2, 1, 1] });
  });

  it('intersects with intersect = true (hand-computed)', () => {
    expect(rleMerge([a, b], true)).toEqual({ size: [3, 3], counts: [1, 1, 7] });
  });

  it('matches pycocotools merge for unions and intersections of 1 to 5 masks', () => {
    for (const t of fx.merge) {
      const rles = t.rles.map((s) => ({ size: t.size, counts: s }));
      expect([t.name, rleToString(rleMerge(rles))]).toEqual([t.name, t.union]);
      expect([t.name, rleToString(rleMerge(rles, true))]).toEqual([t.name, t.intersection]);
    }
  });

  it('returns a copy for a single RLE and an empty [0, 0] RLE for none, as pycocotools', () => {
    const merged = rleMerge([a]);
    expect(merged).toEqual(a);
    expect(merged.counts).not.toBe(a.counts);
    expect(rleMerge([])).toEqual({ size: [0, 0], counts: [] });
  });

  it('rejects RLEs of different sizes', () => {
    expect(() => rleMerge([a, { size: [1, 9], counts: [9] }])).toThrow(
      new ValueError('rleMerge: rles[1].size is [1,9], expected [3,3] (the size of rles[0])'),
    );
  });
});
