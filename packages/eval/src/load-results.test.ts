import { ValueError, rleFromString, compressRle } from '@residual/core';
import { CocoGroundTruth } from './coco-ground-truth.js';
import { loadResults } from './load-results.js';
import type { CocoResult } from './coco-types.js';

const gt = new CocoGroundTruth({
  images: [{ id: 3, height: 4, width: 5 }],
  categories: [{ id: 1, name: 'a' }],
  annotations: [],
});
// 4×5 mask with pixels (row 1..2, column 2) set: column-major runs 9 bg, 2 fg, 9 bg
const rle = compressRle({ size: [4, 5], counts: [9, 2, 9] });

describe('loadResults', () => {
  it('completes bbox results as loadRes: ids 1..n, area w·h, the box as a polygon', () => {
    const dets = loadResults(gt, [
      { image_id: 3, category_id: 1, bbox: [1, 2, 3, 4], score: 0.5 },
      { image_id: 3, category_id: 1, bbox: [0, 0, 2.5, 2], score: 0.25 },
    ]);
    expect(dets).toEqual([
      { id: 1, imageId: 3, categoryId: 1, score: 0.5, bbox: [1, 2, 3, 4], area: 12, segmentation: [[1, 2, 1, 6, 4, 6, 4, 2]] },
      { id: 2, imageId: 3, categoryId: 1, score: 0.25, bbox: [0, 0, 2.5, 2], area: 5, segmentation: [[0, 0, 0, 2, 2.5, 2, 2.5, 0]] },
    ]);
  });

  it('completes segm results: area is the pixel count, bbox the tight box', () => {
    const [d] = loadResults(gt, [{ image_id: 3, category_id: 1, segmentation: rle, score: 1 }]);
    expect(d.area).toBe(2);
    expect(d.bbox).toEqual([2, 1, 1, 2]);
    expect(rleFromString(rle.counts, [4, 5]).counts).toEqual([9, 2, 9]);
  });

  it('takes the bbox path for every result when the first has a box, as loadRes does', () => {
    const both: CocoResult = { image_id: 3, category_id: 1, bbox: [0, 0, 5, 4], segmentation: rle, score: 1 };
    expect(loadResults(gt, [both])[0].area).toBe(20); // w·h of the box, not the mask's 2 pixels
    const [, second] = loadResults(gt, [{ ...both, bbox: [] }, both]);
    expect(second.area).toBe(2); // results[0] has an empty box: segmentation path for all
  });

  it('accepts no results', () => {
    expect(loadResults(gt, [])).toEqual([]);
  });

  const bad = (results: unknown, msg: string): void => {
    expect(() => loadResults(gt, results as CocoResult[])).toThrow(new ValueError(msg));
  };
  const ok = { image_id: 3, category_id: 1, bbox: [0, 0, 1, 1], score: 0.5 };

  it('names an image_id that is not in the ground truth', () => {
    bad([ok, { ...ok, image_id: 99 }], 'loadResults: results[1].image_id 99 is not an image of the ground truth');
  });

  it('names an unknown category_id', () => {
    bad([{ ...ok, category_id: 2 }], 'loadResults: results[0].category_id 2 is not a category of the ground truth');
  });

  it('rejects missing or wrong fields', () => {
    bad({ results: [] }, 'loadResults: results must be an array of COCO results, got {"results":[]}');
    bad([{ image_id: 3, category_id: 1, score: 1 }], 'loadResults: results[0] must have a bbox or a segmentation, got {"image_id":3,"category_id":1,"score":1}');
    bad([ok, { ...ok, bbox: [1, 2, 3] }], 'loadResults: results[1].bbox must be [x, y, w, h] (4 finite numbers), got [1,2,3]');
    bad([ok, { ...ok, bbox: undefined }], 'loadResults: results[1].bbox must be [x, y, w, h] (4 finite numbers), got undefined');
    bad([ok, { ...ok, bbox: [0, 0, NaN, 1] }], 'loadResults: results[1].bbox must be [x, y, w, h] (4 finite numbers), got [0,0,null,1]');
    bad([{ ...ok, score: undefined }], 'loadResults: results[0].score must be a finite number, got undefined');
    bad([ok, null], 'loadResults: results[1] must be an object, got null');
  });

  it('rejects segm results without an RLE', () => {
    const seg = { image_id: 3, category_id: 1, segmentation: rle, score: 1 };
    bad([seg, { ...seg, segmentation: [[0, 0, 1, 0, 1, 1]] }], 'loadResults: results[1].segmentation must be an RLE { size, counts }, got a polygon list');
    bad(
      [{ ...seg, segmentation: { size: [4, 5], counts: [9, 2] } }],
      'loadResults: results[0].segmentation is not a valid RLE (rleArea: rle.counts must sum to h·w = 20 for size [4,5], got 11)',
    );
  });
});
