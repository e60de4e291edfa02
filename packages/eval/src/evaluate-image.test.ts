import { evaluateImage, type MatchDt, type MatchGt } from './evaluate-image.js';

const ALL: [number, number] = [0, 1e10];
const gt = (id: number, area = 100, iscrowd = false): MatchGt => ({ id, area, iscrowd });
const dt = (score: number, area = 100): MatchDt => ({ score, area });
const arr = (a: ArrayLike<number>): number[] => Array.from(a);

describe('evaluateImage', () => {
  it('matches each detection to the free ground truth of highest IoU, per threshold', () => {
    const r = evaluateImage([gt(1), gt(2)], [dt(0.9), dt(0.8)], [[0.5, 0.7], [0.7, 0.5]], [ALL], [0.5, 0.75]);
    // t = 0.5: d0 takes g1 (0.7), d1 takes g0 (0.7); t = 0.75: nothing reaches it
    expect(arr(r.dtMatched)).toEqual([1, 1, 0, 0]);
    expect(arr(r.dtIgnore)).toEqual([0, 0, 0, 0]);
    expect(arr(r.gtIgnore)).toEqual([0, 0]);
    expect(arr(r.dtScores)).toEqual([0.9, 0.8]);
  });

  it('accepts an IoU exactly equal to the threshold', () => {
    expect(arr(evaluateImage([gt(1)], [dt(1)], [[0.5]], [ALL], [0.5]).dtMatched)).toEqual([1]);
    expect(arr(evaluateImage([gt(1)], [dt(1)], [[0.4999]], [ALL], [0.5]).dtMatched)).toEqual([0]);
  });

  it('gives an IoU tie to the later ground truth', () => {
    // d0 ties g0/g1 and takes g1, which leaves g0 for d1; taking g0 would leave d1 unmatched
    const r = evaluateImage([gt(1), gt(2)], [dt(0.9), dt(0.8)], [[0.6, 0.6], [0.6, 0]], [ALL], [0.5]);
    expect(arr(r.dtMatched)).toEqual([1, 1]);
  });

  it('lets a crowd region absorb any number of detections, which are then ignored', () => {
    const r = evaluateImage([gt(1, 100, true)], [dt(0.9), dt(0.8), dt(0.7)], [[0.8], [0.8], [0.8]], [ALL], [0.5]);
    expect(arr(r.gtIgnore)).toEqual([1]);
    expect(arr(r.dtMatched)).toEqual([1, 1, 1]);
    expect(arr(r.dtIgnore)).toEqual([1, 1, 1]);
  });

  it('puts ignored ground truth last and stops at it once a regular match is held', () => {
    // g0 is a crowd with the higher IoU; g1 is regular: the detection keeps the regular match
    const r = evaluateImage([gt(1, 100, true), gt(2)], [dt(0.9)], [[0.9, 0.6]], [ALL], [0.5]);
    expect(arr(r.gtIgnore)).toEqual([0, 1]);
    expect(arr(r.dtMatched)).toEqual([1]);
    expect(arr(r.dtIgnore)).toEqual([0]);
  });

  it('ignores ground truth outside the area range and the detections matched to it', () => {
    const r = evaluateImage([gt(1, 5000)], [dt(0.9, 10)], [[0.9]], [[0, 1024]], [0.5]);
    expect(arr(r.gtIgnore)).toEqual([1]);
    expect(arr(r.dtMatched)).toEqual([1]);
    expect(arr(r.dtIgnore)).toEqual([1]);
  });

  it('ignores unmatched detections outside the area range but keeps matched ones', () => {
    const r = evaluateImage([gt(1, 500)], [dt(0.9, 5000), dt(0.8, 5000)], [[0.9], [0.9]], [[0, 1024]], [0.5]);
    expect(arr(r.dtMatched)).toEqual([1, 0]);
    expect(arr(r.dtIgnore)).toEqual([0, 1]);
  });

  it('treats a match with a ground truth of id 0 as no match, as COCOeval does', () => {
    // COCOeval stores the matched gt id in dtm and tests dtm for truth; the gt is still used up
    const r = evaluateImage([gt(0)], [dt(0.9), dt(0.8)], [[0.9], [0.9]], [ALL], [0.5]);
    expect(arr(r.dtMatched)).toEqual([0, 0]);
    expect(arr(r.dtIgnore)).toEqual([0, 0]);
  });

  it('clamps a threshold of 1 to 1 − 1e−10', () => {
    expect(arr(evaluateImage([gt(1)], [dt(1)], [[1 - 1e-12]], [ALL], [1]).dtMatched)).toEqual([1]);
    expect(arr(evaluateImage([gt(1)], [dt(1)], [[1 - 1e-9]], [ALL], [1]).dtMatched)).toEqual([0]);
  });

  it('evaluates every area range at once, flags laid out [A, T, D] and [A, G]', () => {
    // a small gt (area 500) and a large one (5000); d0 fits g0, d1 (large, area 6000) fits g1
    const r = evaluateImage([gt(1, 500), gt(2, 5000)], [dt(0.9, 400), dt(0.8, 6000)], [[0.9, 0], [0, 0.6]], [ALL, [0, 1024], [1024, 1e10]], [0.5, 0.75]);
    expect(r.numGt).toBe(2);
    expect(arr(r.gtIgnore)).toEqual([0, 0, /* small */ 0, 1, /* large: g1 first */ 0, 1]);
    // all: both match at .5, only d0 at .75
    // small: d1 can only match the ignored g1 (→ ignored) at .5; at .75 it is unmatched and too large (→ ignored)
    // large: d0 matches the ignored g0 (→ ignored) at both thresholds; d1 matches g1 at .5 only
    expect(arr(r.dtMatched)).toEqual([1, 1, 1, 0, /* small */ 1, 1, 1, 0, /* large */ 1, 1, 1, 0]);
    expect(arr(r.dtIgnore)).toEqual([0, 0, 0, 0, /* small */ 0, 1, 0, 1, /* large */ 1, 0, 1, 0]);
  });

  it('handles an image with detections but no ground truth, and the reverse', () => {
    const onlyDt = evaluateImage([], [dt(0.5), dt(0.4, 5000)], [], [[0, 1024]], [0.5, 0.75]);
    expect(arr(onlyDt.dtMatched)).toEqual([0, 0, 0, 0]);
    expect(arr(onlyDt.dtIgnore)).toEqual([0, 1, 0, 1]);
    const onlyGt = evaluateImage([gt(1), gt(2, 100, true)], [], [], [ALL], [0.5]);
    expect(arr(onlyGt.gtIgnore)).toEqual([0, 1]);
    expect(onlyGt.dtScores).toHaveLength(0);
  });
});
