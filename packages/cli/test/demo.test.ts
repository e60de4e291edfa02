import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Generator, readSafetensors } from '@residual/core';
import { saveSafetensors } from '@residual/core/node';
import { CocoDataset, writeShapesDataset } from '@residual/data';
import { useBackend } from '@residual/test-utils';
import { DEMO_DETECTOR, buildDemoDetector } from '../src/demo-model.js';
import { trainForBudget } from '../src/demo-train.js';
import { readSafetensorsMetadata } from '../src/load-weights.js';
import { fixture, runCli, tempDir } from './run-cli.js';

// Tiny runs: 64-px images, two steps of batch 2. The real demo (400 steps at 128 px) is the README's.
const dir = tempDir();

beforeAll(async () => {
  await useBackend();
});

// One tiny demo run (64-px images, two steps of batch 2, both validation images drawn) feeds every test
// of its output, including `residual detect` and `residual eval` on its weights.
const out = path.join(dir, 'demo');
let demo: { code: number; stdout: string; stderr: string };
let demoRun: Promise<void> | undefined;
/** Runs the demo once, for whichever describe needs its output first. */
function runDemoOnce(): Promise<void> {
  demoRun ??= runCli(['demo', '--out', out, '--images', '4', '--val-images', '2', '--size', '64', '--iterations', '2', '--batch-size', '2', '--draw', '2', '--json']).then((r) => {
    demo = r;
  });
  return demoRun;
}
const demoJson = (): DemoJson => JSON.parse(demo.stdout) as DemoJson;

interface DemoJson {
  iterations: number;
  plannedIterations: number;
  trainImages: number;
  valImages: number;
  out: string;
  bbox: { AP: number; AP50: number };
  segm: { AP: number; AP50: number };
  bboxSummary: string;
  segmSummary: string;
  firstLoss: number;
  lastLoss: number;
  drawn: string[];
  detectCommand: string;
}

describe('residual demo', () => {
  beforeAll(runDemoOnce);

  it('makes the data, trains, evaluates, draws and reports, and says where', async () => {
    expect({ code: demo.code, stderr: demo.stderr }).toEqual({ code: 0, stderr: '' });
    const s = demoJson();
    expect([s.iterations, s.plannedIterations, s.trainImages, s.valImages, s.out]).toEqual([2, 2, 4, 2, out]);
    for (const v of [s.bbox.AP, s.bbox.AP50, s.segm.AP, s.segm.AP50]) expect(v === -1 || (v >= 0 && v <= 1)).toBe(true);
    expect(s.bboxSummary).toContain('Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]');
    expect(Number.isFinite(s.firstLoss) && Number.isFinite(s.lastLoss)).toBe(true);
    const report = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
    expect(report).toContain('| bbox |');
    expect(report).toContain('![training loss](loss.png)');
    expect(report).toContain(`![${s.drawn[0]}](${s.drawn[0]})`);
    expect(fs.readFileSync(path.join(out, 'loss.png')).subarray(1, 4).toString()).toBe('PNG');
    expect(fs.readdirSync(path.join(out, 'detections'))).toEqual(['000000.png', '000001.png']);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8')).iterationsLog).toHaveLength(2);
  });

  it('stores the architecture (with the image size) and the category names in the weights\' metadata', () => {
    const { tensors, metadata } = readSafetensors(fs.readFileSync(path.join(out, 'model.safetensors')));
    tf.dispose([...tensors.values()]);
    expect(tensors.get('backbone.body.conv1.weight')?.shape).toEqual([64, 3, 7, 7]);
    expect(tensors.get('roi_heads.mask_predictor.mask_fcn_logits.weight')?.shape).toEqual([5, 64, 1, 1]);
    expect(JSON.parse(metadata['residual.demo'] as string)).toEqual({ ...DEMO_DETECTOR, minSize: 64, maxSize: 64 });
    expect(JSON.parse(metadata['residual.categories'] as string)).toEqual([
      { id: 1, name: 'circle' }, { id: 2, name: 'square' }, { id: 3, name: 'triangle' }, { id: 4, name: 'star' },
    ]);
  });

  it('prints, and writes in report.md, the detect command for its model', () => {
    const val = path.join(out, 'data', 'val', 'images');
    const command = `residual detect ${val} --weights ${path.join(out, 'model.safetensors')} --draw ${path.join(out, 'detect')} --draw-threshold 0.3 --out ${path.join(out, 'detect', 'results.json')}`;
    expect(demoJson().detectCommand).toBe(command);
    expect(fs.readFileSync(path.join(out, 'report.md'), 'utf8')).toContain(['## Detect with this model', '', 'The architecture and the category names are stored in model.safetensors; on your own images', '(files or folders) replace the validation folder:', '', '```sh', command, '```'].join('\n'));
  });
});

describe('the demo\'s weights', () => {
  beforeAll(runDemoOnce);
  const weights = path.join(out, 'model.safetensors');
  const valAnn = path.join(out, 'data', 'val', 'annotations.json');
  const val = path.join(out, 'data', 'val', 'images');
  const json = (file: string): unknown => JSON.parse(fs.readFileSync(file, 'utf8'));

  it('run in residual detect (the report\'s command) with the demo\'s own detections of the same images', async () => {
    const r = await runCli([...demoJson().detectCommand.split(' ').slice(1), '--quiet']);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const rows = json(path.join(out, 'detect', 'results.json')) as unknown[];
    const own = (json(path.join(out, 'report.json')) as { drawnDetections: unknown[] }).drawnDetections;
    expect(rows.length).toBeGreaterThan(0);
    expect(rows).toEqual(own); // boxes, scores, labels → category ids, masks as RLE
    expect(fs.readdirSync(path.join(out, 'detect')).sort()).toEqual(['000000.png', '000001.png', 'results.json']);
  });

  it.each(['bbox', 'segm'])('give residual eval the %s summary the demo\'s evaluation printed', async (iouType) => {
    const results = path.join(out, 'detect', 'results.json');
    const r = await runCli(['eval', '--ann', valAnn, '--results', results, '--iou-type', iouType, '--quiet']);
    expect(r.code).toBe(0);
    const s = demoJson();
    expect(r.stdout).toBe(`${iouType === 'bbox' ? s.bboxSummary : s.segmSummary}\n`);
  });

  /** The demo's weights as files written before the image size and the categories were stored: detect on the validation images. */
  let oldRun: Promise<{ code: number; stderr: string; results: string; drawn: string }> | undefined;
  function detectWithOldFile(): NonNullable<typeof oldRun> {
    oldRun ??= (async () => {
      const { tensors } = readSafetensors(fs.readFileSync(weights));
      const old = path.join(dir, 'old-demo.safetensors');
      await saveSafetensors(old, tensors, { metadata: { format: 'pt', 'residual.demo': JSON.stringify(DEMO_DETECTOR) } });
      tf.dispose([...tensors.values()]);
      const results = path.join(dir, 'old-results.json');
      const drawn = path.join(dir, 'old-drawn');
      const r = await runCli(['detect', val, '--weights', old, '--min-size', '64', '--max-size', '64', '--out', results, '--draw', drawn, '--draw-threshold', '0', '--quiet']);
      return { code: r.code, stderr: r.stderr, results, drawn };
    })();
    return oldRun;
  }

  it('still load when written before the image size and the categories were stored (sizes from the flags)', async () => {
    const old = await detectWithOldFile();
    expect({ code: old.code, stderr: old.stderr }).toEqual({ code: 0, stderr: '' });
    expect(json(old.results)).toEqual(json(path.join(out, 'detect', 'results.json'))); // the shapes' ids are their labels
  });

  it('draw labels with the stored category names, as --ann would name them, where a file without them draws numbers', async () => {
    const png = (folder: string): Buffer => fs.readFileSync(path.join(folder, '000000.png'));
    const named = path.join(dir, 'named-drawn');
    const fromAnn = path.join(dir, 'ann-drawn');
    const all = ['--draw-threshold', '0', '--quiet']; // every detection drawn: two training steps leave low scores
    const first = path.join(val, '000000.png');
    expect((await runCli(['detect', first, '--weights', weights, '--draw', named, ...all])).code).toBe(0);
    await detectWithOldFile(); // writes the file without names
    const old = path.join(dir, 'old-demo.safetensors');
    const ann = await runCli(['detect', first, '--weights', old, '--min-size', '64', '--max-size', '64', '--ann', valAnn, '--draw', fromAnn, ...all]);
    expect(ann.code).toBe(0);
    expect(png(named).equals(png(fromAnn))).toBe(true);
    expect(png(named).equals(png((await detectWithOldFile()).drawn))).toBe(false);
  });

  it('have metadata readable from the header alone (how detect --workers names labels), and torch files have none', async () => {
    const { tensors, metadata } = readSafetensors(fs.readFileSync(weights));
    tf.dispose([...tensors.values()]);
    expect(await readSafetensorsMetadata(weights)).toEqual(metadata);
    expect(await readSafetensorsMetadata(fixture('pth', 'checkpoint.pth'))).toEqual({});
  });

  it('refuse an --arch or --backbone the file contradicts, naming both', async () => {
    const fasterrcnn = await runCli(['detect', val, '--weights', weights, '--arch', 'fasterrcnn']);
    expect({ code: fasterrcnn.code, stderr: fasterrcnn.stderr }).toEqual({
      code: 1,
      stderr: `residual detect: --weights ${weights} holds a maskrcnn on resnet18 (its metadata "residual.demo"), not a fasterrcnn\n`,
    });
    const resnet50 = await runCli(['detect', val, '--weights', weights, '--arch', 'maskrcnn', '--backbone', 'resnet50']);
    expect(resnet50.stderr).toBe(`residual detect: --weights ${weights} holds a maskrcnn on resnet18 (its metadata "residual.demo"), not a maskrcnn on resnet50\n`);
    const eps = await runCli(['detect', val, '--weights', weights, '--frozen-bn-eps', '0']);
    expect({ code: eps.code, stderr: eps.stderr }).toEqual({
      code: 2,
      stderr: `residual detect: --frozen-bn-eps does not apply to --weights ${weights} (its model has BatchNorm2d with stored statistics)\nRun 'residual detect --help' for usage.\n`,
    });
  });
});

describe('residual detect on weights with bad metadata', () => {
  beforeAll(runDemoOnce);
  const image = (): string => path.join(out, 'data', 'val', 'images', '000000.png');

  async function weightsWith(name: string, metadata: Record<string, string>): Promise<string> {
    const file = path.join(dir, name);
    const t = tf.zeros([3, 8]); // a box predictor of 3 classes, nothing else
    await saveSafetensors(file, new Map([['roi_heads.box_predictor.cls_score.weight', t]]), { metadata });
    t.dispose();
    return file;
  }

  it('names the file when "residual.demo" is not JSON', async () => {
    const file = await weightsWith('bad-json.safetensors', { 'residual.demo': '{"backbone": "resnet18",' });
    const r = await runCli(['detect', image(), '--weights', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^residual detect: --weights ${file}: metadata "residual\\.demo" is not valid JSON \\(.+\\)\\n$`));
  });

  it('names the file and the fields when "residual.demo" has unknown fields', async () => {
    const file = await weightsWith('unknown-field.safetensors', { 'residual.demo': JSON.stringify({ ...DEMO_DETECTOR, norm: 'frozen' }) });
    const r = await runCli(['detect', image(), '--weights', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `residual detect: --weights ${file}: metadata "residual.demo" has unknown field "norm" (known: backbone, returnedLayers, anchorSizes, aspectRatios, maskHeadLayers, ` +
        'fpnChannels, representationSize, rpnBatchSizePerImage, boxBatchSizePerImage, rpnPreNmsTopNTrain, rpnPostNmsTopNTrain, rpnPreNmsTopNTest, rpnPostNmsTopNTest, minSize, maxSize)\n',
    );
  });

  it('names the file when the stored categories do not fit the weights\' classes', async () => {
    const file = await weightsWith('categories.safetensors', { 'residual.demo': JSON.stringify(DEMO_DETECTOR), 'residual.categories': JSON.stringify([{ id: 1, name: 'circle' }]) });
    const r = await runCli(['detect', image(), '--weights', file]);
    expect(r.stderr).toBe(
      `residual detect: --weights ${file}: metadata "residual.categories" names 1 categories, but the weights have 3 classes (background included)\n`,
    );
  });

  it('asks for --arch when the file does not say its architecture', async () => {
    const file = await weightsWith('plain.safetensors', {});
    const r = await runCli(['detect', image(), '--weights', file]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 2, stderr: `residual detect: missing required flag --arch (--weights ${file} does not say its architecture)\nRun 'residual detect --help' for usage.\n` });
  });
});

describe('residual demo flags', () => {
  it('rejects a bad flag with a usage error', async () => {
    const r = await runCli(['demo', '--size', '16']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--size');
  });
});

describe('trainForBudget', () => {
  it('ends when the time budget is spent, its cosine schedule following the elapsed time, leaking nothing', async () => {
    const data = path.join(dir, 'budget');
    const files = await writeShapesDataset(data, { numImages: 2, imageSize: 64, minShapeSize: 16, maxShapeSize: 32, maxShapes: 2, seed: 3 });
    const dataset = await CocoDataset.load(files.annotationFile, files.imageDir, { masks: true });
    const model = buildDemoDetector(dataset.numClasses, 64, new Generator(1));
    const options = { iterations: 100, seconds: 60, batchSize: 1, optimizer: 'sgd' as const, lr: 0.01, warmupIters: 1, maxGradNorm: 10, generator: new Generator(2) };
    await trainForBudget(model, dataset, { ...options, iterations: 1 }, () => undefined); // fills the anchor cache
    const before = tf.memory().numTensors;
    let clock = 0;
    // Each step takes 40 s of a 60 s budget: the second runs at progress 2/3, then the run stops.
    const records = await trainForBudget(model, dataset, { ...options, now: () => clock }, () => (clock += 40_000));
    expect(tf.memory().numTensors).toBe(before);
    expect(records.map((r) => r.iteration)).toEqual([1, 2]);
    expect(records[0].lr).toBe(0.01);
    expect(records[1].lr).toBeCloseTo(0.01 * 0.5 * (1 + Math.cos(Math.PI * (2 / 3))), 12);
    model.dispose();
  });
});
