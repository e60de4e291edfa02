import { ValueError } from '@residual/core';
import { CocoEvaluator } from './coco-evaluator.js';
import type { CocoDatasetJson, CocoResult } from './coco-types.js';

const gtJson = (): CocoDatasetJson => ({
  images: [
    { id: 1, height: 100, width: 100 },
    { id: 2, height: 100, width: 100 },
  ],
  categories: [
    { id: 5, name: 'box' },
    { id: 9, name: 'ball' },
  ],
  annotations: [{ id: 1, image_id: 1, category_id: 5, bbox: [10, 10, 20, 20], area: 400, iscrowd: 0 }],
});

const EPS = 2.220446049250313e-16; // np.spacing(1)
const fp: CocoResult = { image_id: 1, category_id: 5, bbox: [60, 60, 10, 10], score: 0.9 };
const tp: CocoResult = { image_id: 1, category_id: 5, bbox: [10, 10, 20, 20], score: 0.8 };

describe('CocoEvaluator.evaluate', () => {
  it('gives AP 0.5 for a false positive ranked above the true positive (worked by hand)', () => {
    // rc = [0, 1], pr = [0, 1/(2+eps)] → made monotone [0.5, 0.5]: every recall threshold reads 0.5
    const r = new CocoEvaluator(gtJson()).evaluate([fp, tp], 'bbox');
    // the object is small (400 px² < 32²): medium and large have no ground truth → −1
    expect(r.stats).toEqual([0.5, 0.5, 0.5, 0.5, -1, -1, 0, 1, 1, 1, -1, -1]);
    expect(r.named.AP50).toBe(0.5);
    expect(r.named.AR1).toBe(0); // the top-scoring detection alone is the false positive
    expect(r.summary.split('\n')).toEqual([
      ' Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.500',
      ' Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ] = 0.500',
      ' Average Precision  (AP) @[ IoU=0.75      | area=   all | maxDets=100 ] = 0.500',
      ' Average Precision  (AP) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = 0.500',
      ' Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = -1.000',
      ' Average Precision  (AP) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = -1.000',
      ' Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = 0.000',
      ' Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets= 10 ] = 1.000',
      ' Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 1.000',
      ' Average Recall     (AR) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = 1.000',
      ' Average Recall     (AR) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = -1.000',
      ' Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = -1.000',
    ]);
    expect(r.perCategory).toEqual([
      { catId: 5, name: 'box', AP: 0.5, AP50: 0.5, AP75: 0.5, APs: 0.5, APm: -1, APl: -1 },
      { catId: 9, name: 'ball', AP: -1, AP50: -1, AP75: -1, APs: -1, APm: -1, APl: -1 },
    ]);
    expect(r.precision.dims).toEqual([10, 101, 2, 4, 3]);
    expect(r.recall.dims).toEqual([10, 2, 4, 3]);
  });

  it('gives AP 1 (less eps) when the true positive ranks first, and 0 for no results at all', () => {
    const ev = new CocoEvaluator(gtJson());
    // precision 1/(1 + eps): COCOeval divides by tp + fp + np.spacing(1)
    expect(ev.evaluate([{ ...tp, score: 0.95 }, fp], 'bbox').named.AP).toBe(1 / (1 + EPS));
    const none = ev.evaluate([], 'bbox');
    expect([none.named.AP, none.named.AR100, none.named.APm]).toEqual([0, 0, -1]);
  });

  it('ranks tied scores in results order (stable, as mergesort)', () => {
    const ev = new CocoEvaluator(gtJson());
    expect(ev.evaluate([{ ...fp, score: 0.5 }, { ...tp, score: 0.5 }], 'bbox').named.AP).toBe(0.5);
    expect(ev.evaluate([{ ...tp, score: 0.5 }, { ...fp, score: 0.5 }], 'bbox').named.AP).toBe(1 / (1 + EPS));
  });

  it('evaluates masks with segm: a half-covering mask has IoU 0.5', () => {
    const gt = gtJson();
    // the gt polygon covers the 20×20 square x, y ∈ [10, 30); the result (column-major runs) its left
    // half, columns 10..19
    gt.annotations[0].segmentation = [[10, 10, 10, 30, 30, 30, 30, 10]];
    const rows = 100;
    const counts = [10 * rows + 10, 20, 80, 20, 80, 20, 80, 20, 80, 20, 80, 20, 80, 20, 80, 20, 80, 20, 80, 20];
    counts.push(rows * rows - counts.reduce((s, c) => s + c, 0));
    const half: CocoResult = { image_id: 1, category_id: 5, score: 0.7, segmentation: { size: [100, 100], counts } };
    const r = new CocoEvaluator(gt).evaluate([half], 'segm');
    // matched at IoU 0.50 only (of 10 thresholds): recall 1 there, 0 elsewhere
    expect(r.named.AP50).toBeCloseTo(1, 15);
    expect(r.named.AR100).toBeCloseTo(0.1, 15);
  });

  it('does not modify the ground truth or the results', () => {
    const gt = gtJson();
    const results = [fp, tp];
    const before = JSON.stringify([gt, results]);
    new CocoEvaluator(gt).evaluate(results, 'bbox', { maxDets: [100, 1, 10] });
    expect(JSON.stringify([gt, results])).toBe(before);
  });

  it('rejects bad options with messages naming them', () => {
    const ev = new CocoEvaluator(gtJson());
    const bad = (o: object, msg: string): void => {
      expect(() => ev.evaluate([fp], 'bbox', o)).toThrow(new ValueError(msg));
    };
    bad({ maxDets: [1, 10] }, 'evaluate: options.maxDets must be at least 3 positive integers, got [1,10]');
    bad({ imgIds: [1, 3] }, 'evaluate: options.imgIds contains 3, which is not a image of the ground truth');
    bad({ catIds: [7] }, 'evaluate: options.catIds contains 7, which is not a category of the ground truth');
    bad({ iouThrs: [0.5, 1.5] }, 'evaluate: options.iouThrs must be a non-empty list of numbers in [0, 1], got [0.5,1.5]');
    bad(
      { areaRng: [[0, 1]] },
      'evaluate: options.areaRng must be 4 ranges [lo, hi] (all, small, medium, large), got [[0,1]]',
    );
    bad({ useCats: 'yes' }, 'evaluate: options.useCats must be a boolean (or 0/1), got "yes"');
    expect(() => ev.evaluate([fp], 'keypoints' as 'bbox')).toThrow(
      new ValueError(`evaluate: iouType must be 'bbox' or 'segm', got "keypoints"`),
    );
  });

  it('explains what segm evaluation misses in the ground truth', () => {
    const seg: CocoResult = { ...fp, segmentation: { size: [100, 100], counts: [10000] } };
    expect(() => new CocoEvaluator(gtJson()).evaluate([seg], 'segm')).toThrow(
      new ValueError('evaluate: groundTruth.annotations[0] (id 1) has no segmentation, which segm evaluation needs'),
    );
    const gt = gtJson();
    gt.annotations[0].segmentation = [[10, 10, 10, 30, 30, 30, 30, 10]];
    delete gt.images[0].height;
    expect(() => new CocoEvaluator(gt).evaluate([seg], 'segm')).toThrow(
      new ValueError('evaluate: image 1 needs integer height and width for segm evaluation, got height=undefined, width=100'),
    );
  });
});
