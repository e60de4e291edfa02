import { ValueError } from '@residual/core';
import { CocoGroundTruth } from './coco-ground-truth.js';
import type { CocoDatasetJson } from './coco-types.js';

const json = (): CocoDatasetJson => ({
  images: [{ id: 7 }, { id: 2 }],
  categories: [{ id: 4, name: 'x' }, { id: 1, name: 'y' }],
  annotations: [
    { id: 10, image_id: 2, category_id: 4, bbox: [0, 0, 1, 1], area: 1 },
    { id: 11, image_id: 7, category_id: 1, bbox: [0, 0, 2, 2], area: 4, iscrowd: 1 },
    { id: 12, image_id: 2, category_id: 1, bbox: [1, 1, 2, 2], area: 4 },
  ],
});

describe('CocoGroundTruth', () => {
  it('indexes ids in ascending order and annotations per image in file order', () => {
    const gt = new CocoGroundTruth(json());
    expect(gt.imageIds).toEqual([2, 7]);
    expect(gt.categoryIds).toEqual([1, 4]);
    expect(gt.annotationsOf(2).map((a) => a.id)).toEqual([10, 12]);
    expect(gt.annotationsOf(7).map((a) => [a.id, a.iscrowd])).toEqual([[11, true]]);
    expect(gt.annotationsOf(2)[0].iscrowd).toBe(false); // iscrowd defaults to 0
    expect(gt.annotationsOf(99)).toEqual([]);
  });

  const bad = (edit: (j: CocoDatasetJson) => void, msg: string): void => {
    const j = json();
    edit(j);
    expect(() => new CocoGroundTruth(j)).toThrow(new ValueError(msg));
  };

  it('rejects malformed files with messages naming the entry', () => {
    expect(() => new CocoGroundTruth(null as unknown as CocoDatasetJson)).toThrow(
      new ValueError('CocoEvaluator: groundTruth must be a COCO instances object, got null'),
    );
    bad((j) => delete (j as Partial<CocoDatasetJson>).images, 'CocoEvaluator: groundTruth.images must be an array, got undefined');
    bad((j) => j.images.push({ id: 7 }), 'CocoEvaluator: groundTruth.images[2].id 7 is a duplicate');
    bad((j) => (j.categories[1].id = 4), 'CocoEvaluator: groundTruth.categories[1].id 4 is a duplicate');
    bad((j) => (j.annotations[2].id = 10), 'CocoEvaluator: groundTruth.annotations[2].id 10 is a duplicate');
    bad((j) => (j.annotations[1].image_id = 3), 'CocoEvaluator: groundTruth.annotations[1].image_id 3 is not in groundTruth.images');
    bad((j) => (j.annotations[0].category_id = 2), 'CocoEvaluator: groundTruth.annotations[0].category_id 2 is not in groundTruth.categories');
    bad((j) => (j.annotations[0].bbox = [0, 0, 1]), 'CocoEvaluator: groundTruth.annotations[0].bbox must be [x, y, w, h] (4 finite numbers), got [0,0,1]');
    bad(
      (j) => delete (j.annotations[2] as { area?: number }).area,
      'CocoEvaluator: groundTruth.annotations[2].area must be a finite number, got undefined',
    );
    bad((j) => (j.annotations[0].iscrowd = 2), 'CocoEvaluator: groundTruth.annotations[0].iscrowd must be 0 or 1, got 2');
    bad((j) => ((j.images[0] as { id: unknown }).id = '7'), 'CocoEvaluator: groundTruth.images[0].id must be a finite number, got "7"');
  });
});
