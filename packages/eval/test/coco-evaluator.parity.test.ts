import * as fs from 'node:fs';
import * as path from 'node:path';
import { fixturePath } from '@residual/test-utils';
import { CocoEvaluator, type CocoDatasetJson, type CocoEvaluation, type CocoResult, type EvaluateOptions, type IouType } from '@residual/eval';

// Made by tools/fixtures/eval.py with pycocotools' COCOeval (see its header for what the set contains).
interface Case {
  name: string;
  iouType: IouType;
  params: EvaluateOptions;
  stats: number[];
  summary: string;
  perCategory: Array<Array<number | null>>;
  catIds: number[];
  precision?: { dims: number[]; runs: Array<[number, number]> };
  recall?: { dims: number[]; values: number[] };
}
const fixture = JSON.parse(fs.readFileSync(fixturePath(path.join(__dirname, '..'), 'coco_eval.json'), 'utf8')) as {
  gt: CocoDatasetJson;
  results: { bbox: CocoResult[]; segm: CocoResult[] };
  iouThrs: number[];
  recThrs: number[];
  cases: Case[];
};

// The issue's bar. When this was written every compared number was equal to pycocotools' to the last
// bit (the suite also passes with TOL = 0): the summation orders are numpy's.
const TOL = 1e-6;

function resultsFor(c: Case): CocoResult[] {
  if (c.name.startsWith('segm results with boxes')) {
    // detectron2's format: both fields on every entry (loadRes takes its bbox path)
    return fixture.results.bbox.map((b, i) => ({ ...b, ...fixture.results.segm[i] }));
  }
  return c.iouType === 'bbox' ? fixture.results.bbox : fixture.results.segm;
}

function decodeRuns(runs: Array<[number, number]>): number[] {
  return runs.flatMap(([v, n]) => new Array<number>(n).fill(v));
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('CocoEvaluator against pycocotools COCOeval', () => {
  const evaluator = new CocoEvaluator(fixture.gt);

  it('uses the same IoU and recall thresholds (np.linspace values, bit for bit)', () => {
    const r = evaluator.evaluate(fixture.results.bbox, 'bbox');
    expect(r.params.iouThrs).toEqual(fixture.iouThrs);
    expect(r.params.recThrs).toEqual(fixture.recThrs);
  });

  describe.each(fixture.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    let r: CocoEvaluation;
    beforeAll(() => {
      r = evaluator.evaluate(resultsFor(c), c.iouType, c.params);
    });

    it('gives the 12 stats of pycocotools', () => {
      expect(r.stats).toHaveLength(12);
      expect(maxAbs(r.stats, c.stats)).toBeLessThanOrEqual(TOL);
      expect(Object.values(r.named)).toEqual(r.stats);
    });

    it('prints the same summary lines', () => {
      expect(r.summary).toBe(c.summary.replace(/\n$/, ''));
    });

    it("gives detectron2's per-category APs (−1 for nan)", () => {
      if (c.params.useCats === 0) {
        expect(r.perCategory).toEqual([]);
        return;
      }
      expect(r.perCategory.map((p) => p.catId)).toEqual(c.catIds);
      const got = r.perCategory.flatMap((p) => [p.AP, p.AP50, p.AP75, p.APs, p.APm, p.APl]);
      const want = c.perCategory.flat().map((v) => (v === null ? -1 : v));
      expect(maxAbs(got, want)).toBeLessThanOrEqual(TOL);
    });

    if (c.precision && c.recall) {
      const { precision, recall } = c;
      it('gives the full precision [T,R,K,A,M] and recall [T,K,A,M] arrays', () => {
        expect(r.precision.dims).toEqual(precision.dims);
        expect(r.recall.dims).toEqual(recall.dims);
        const want = decodeRuns(precision.runs);
        expect(maxAbs(r.precision.data, want)).toBeLessThanOrEqual(TOL);
        expect(maxAbs(r.recall.data, recall.values)).toBeLessThanOrEqual(TOL);
        // −1 exactly where pycocotools has −1 (a category without ground truth, here id 12)
        expect(r.precision.data.map((v) => (v === -1 ? 1 : 0))).toEqual(Float64Array.from(want, (v) => (v === -1 ? 1 : 0)));
      });
    }
  });
});
