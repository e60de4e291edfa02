import * as fs from 'node:fs';
import * as path from 'node:path';
import { CocoEvaluator, type CocoDatasetJson, type CocoResult } from '@residual/eval';
import { fixture, runCli, tempDir } from './run-cli.js';

const json = (file: string): unknown => JSON.parse(fs.readFileSync(file, 'utf8'));

describe('residual eval', () => {
  it.each(['bbox', 'segm'])('prints pycocotools\' %s summary, equal to the eval package\'s', async (iouType) => {
    const results = fixture('eval', `${iouType}_results.json`);
    const { code, stdout, stderr } = await runCli(['eval', '--ann', fixture('eval', 'gt.json'), '--results', results, '--iou-type', iouType]);
    expect(code).toBe(0);
    expect(stdout).toBe(fs.readFileSync(fixture('eval', `${iouType}_summary.txt`), 'utf8')); // as pycocotools printed it
    const evaluator = new CocoEvaluator(json(fixture('eval', 'gt.json')) as CocoDatasetJson);
    expect(stdout).toBe(`${evaluator.evaluate(json(results) as CocoResult[], iouType as 'bbox' | 'segm').summary}\n`);
    expect(stderr).toBe(`evaluating 225 results on 10 images (${iouType})\n`);
  });

  it('evaluates boxes by default and gives stats, named values and per-category AP with --json', async () => {
    const { code, stdout, stderr } = await runCli(['eval', '--ann', fixture('eval', 'gt.json'), '--results', fixture('eval', 'bbox_results.json'), '--json']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const out = JSON.parse(stdout) as { iouType: string; stats: number[]; named: Record<string, number>; perCategory: Array<{ catId: number }> };
    expect(out.iouType).toBe('bbox');
    const expected = json(fixture('eval', 'bbox_stats.json')) as number[];
    out.stats.forEach((s, i) => expect(Math.abs(s - expected[i])).toBeLessThan(1e-12));
    expect(out.named.AP).toBe(out.stats[0]);
    expect(out.named.ARl).toBe(out.stats[11]);
    expect(out.perCategory.map((c) => c.catId)).toEqual([1, 3, 7, 12]);
  });

  it('names a results file that is not JSON', async () => {
    const dir = tempDir();
    const bad = path.join(dir, 'results.json');
    fs.writeFileSync(bad, '[{"image_id": 1,');
    const { code, stderr } = await runCli(['eval', '--ann', fixture('eval', 'gt.json'), '--results', bad]);
    expect(code).toBe(1);
    expect(stderr).toMatch(new RegExp(`^residual eval: --results ${bad} is not valid JSON \\(.+\\)\\n$`));
  });

  it('passes the evaluator\'s own errors through on one line', async () => {
    const dir = tempDir();
    const results = path.join(dir, 'results.json');
    fs.writeFileSync(results, JSON.stringify([{ image_id: 999, category_id: 1, score: 0.5, bbox: [0, 0, 1, 1] }]));
    const { code, stderr } = await runCli(['eval', '--ann', fixture('eval', 'gt.json'), '--results', results]);
    expect(code).toBe(1);
    expect(stderr).toBe(
      'evaluating 1 results on 10 images (bbox)\nresidual eval: loadResults: results[0].image_id 999 is not an image of the ground truth\n',
    );
  });

  it('refuses an unknown --iou-type with exit code 2', async () => {
    const { code, stderr } = await runCli(['eval', '--ann', 'a', '--results', 'b', '--iou-type', 'keypoints']);
    expect(code).toBe(2);
    expect(stderr.split('\n')[0]).toBe('residual eval: --iou-type must be one of bbox, segm, got "keypoints"');
  });
});
