import * as fs from 'node:fs';
import * as path from 'node:path';
import { fixturePath } from '@residual/test-utils';
import {
  ValueError,
  annToRle,
  bboxToRle,
  polygonToRle,
  polygonsToRle,
  rleArea,
  rleDecode,
  rleToBbox,
  rleToString,
  type Segmentation,
} from '@residual/core';

type PolyCase = {
  name: string;
  size: [number, number];
  polygons: number[][];
  each: string[];
  merged: string;
  area: number;
  bbox: number[];
};
type Fixture = {
  polygons: PolyCase[];
  bboxes: { size: [number, number]; bbox: number[]; counts: string; toBbox: number[] }[];
  ann: { name: string; size: [number, number]; segmentation: Segmentation; counts: string }[];
};
const fx = JSON.parse(
  fs.readFileSync(fixturePath(path.join(__dirname, '..', '..'), 'mask.json'), 'utf8'),
) as Fixture;

describe('polygonToRle', () => {
  it('covers the pixels whose centres lie inside an integer square (hand-computed)', () => {
    // square with corners (1,1)..(4,4): pixel centres 1.5, 2.5, 3.5 → columns and rows 1..3
    const mask = rleDecode(polygonToRle([1, 1, 4, 1, 4, 4, 1, 4], 6, 6));
    const expected = new Uint8Array(36);
    for (let y = 1; y <= 3; y++) for (let x = 1; x <= 3; x++) expected[y * 6 + x] = 1;
    expect(mask).toEqual(expected);
  });

  it('matches pycocotools frPyObjects for every fixture polygon (convex, concave, self-touching, clipped, tiny)', () => {
    for (const t of fx.polygons) {
      t.polygons.forEach((p, i) => {
        expect([t.name, i, rleToString(polygonToRle(p, t.size[0], t.size[1]))]).toEqual([t.name, i, t.each[i]]);
      });
    }
  });

  it('rejects an odd number of coordinates, too few of them, and non-finite values', () => {
    expect(() => polygonToRle([1, 2, 3], 4, 4)).toThrow(
      new ValueError('polygonToRle: polygon must be [x0, y0, x1, y1, …] (an even number ≥ 2 of finite numbers), got 3 values'),
    );
    expect(() => polygonToRle([], 4, 4)).toThrow('got 0 values');
    expect(() => polygonToRle([0, 0, NaN, 1, 2, 2], 4, 4)).toThrow('got 6 values (not all finite)');
  });

  it('rejects a non-integer image size', () => {
    expect(() => polygonToRle([0, 0, 2, 0, 2, 2], 4.5, 4)).toThrow(
      'polygonToRle: h and w must be non-negative integers, got h=4.5, w=4',
    );
  });
});

describe('polygonsToRle', () => {
  it('is the union of the polygons, as pycocotools merge(frPyObjects(...)), with its area and box', () => {
    for (const t of fx.polygons) {
      const rle = polygonsToRle(t.polygons, t.size[0], t.size[1]);
      expect([t.name, rleToString(rle), rleArea(rle), rleToBbox(rle)]).toEqual([t.name, t.merged, t.area, t.bbox]);
    }
  });

  it('rejects an empty list and names the bad polygon', () => {
    expect(() => polygonsToRle([], 4, 4)).toThrow('polygonsToRle: polygons must be a non-empty array of polygons, got []');
    expect(() => polygonsToRle([[0, 0, 2, 0, 2, 2], [1]], 4, 4)).toThrow(
      'polygonsToRle: polygons[1] must be [x0, y0, x1, y1, …] (an even number ≥ 2 of finite numbers), got 1 values',
    );
  });
});

describe('bboxToRle', () => {
  it('rasterises [x, y, w, h] as pycocotools frPyObjects on boxes (fractional, clipped, zero-sized)', () => {
    for (const t of fx.bboxes) {
      const rle = bboxToRle(t.bbox, t.size[0], t.size[1]);
      expect([t.bbox, rleToString(rle), rleToBbox(rle)]).toEqual([t.bbox, t.counts, t.toBbox]);
    }
  });

  it('round-trips an integer box through rleToBbox (hand-computed)', () => {
    expect(rleToBbox(bboxToRle([2, 3, 5, 4], 20, 30))).toEqual([2, 3, 5, 4]);
  });

  it('rejects a box that is not 4 finite numbers', () => {
    expect(() => bboxToRle([1, 2, 3], 4, 4)).toThrow('bboxToRle: bbox must be [x, y, w, h] (4 finite numbers), got [1,2,3]');
  });
});

describe('annToRle', () => {
  it('matches pycocotools COCO.annToRLE for polygons, uncompressed and compressed RLEs', () => {
    for (const t of fx.ann) {
      const rle = annToRle(t.segmentation, t.size[0], t.size[1]);
      expect([t.name, rle.size, rleToString(rle)]).toEqual([t.name, t.size, t.counts]);
      expect(Array.isArray(rle.counts)).toBe(true);
    }
  });

  it('rejects an RLE whose size is not the image size', () => {
    expect(() => annToRle({ size: [2, 2], counts: [4] }, 2, 3)).toThrow(
      new ValueError('annToRle: segmentation.size is [2,2], expected [2,3] (the image size)'),
    );
  });

  it('rejects an empty polygon list and a first polygon pycocotools would take for a box', () => {
    expect(() => annToRle([], 4, 4)).toThrow('annToRle: segmentation is an empty polygon list');
    expect(() => annToRle([[0, 0, 2, 2]], 4, 4)).toThrow(
      'annToRle: segmentation[0] must be a polygon of at least 3 points (6 numbers), got 4 numbers',
    );
  });
});
