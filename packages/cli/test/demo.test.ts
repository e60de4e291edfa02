import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Generator, readSafetensors } from '@residual/core';
import { CocoDataset, writeShapesDataset } from '@residual/data';
import { useBackend } from '@residual/test-utils';
import { buildDemoDetector } from '../src/demo-model.js';
import { trainForBudget } from '../src/demo-train.js';
import { runCli, tempDir } from './run-cli.js';

// Tiny runs: 64-px images, two steps of batch 2. The real demo (400 steps at 128 px) is the README's.
const dir = tempDir();

beforeAll(async () => {
  await useBackend();
});

describe('residual demo', () => {
  it('makes the data, trains, evaluates, draws and reports, and says where', async () => {
    const out = path.join(dir, 'demo');
    const r = await runCli(['demo', '--out', out, '--images', '4', '--val-images', '2', '--size', '64', '--iterations', '2', '--batch-size', '2', '--draw', '1', '--json']);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const s = JSON.parse(r.stdout);
    expect([s.iterations, s.plannedIterations, s.trainImages, s.valImages, s.out]).toEqual([2, 2, 4, 2, out]);
    for (const v of [s.bbox.AP, s.bbox.AP50, s.segm.AP, s.segm.AP50]) expect(v === -1 || (v >= 0 && v <= 1)).toBe(true);
    expect(s.bboxSummary).toContain('Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ]');
    expect(Number.isFinite(s.firstLoss) && Number.isFinite(s.lastLoss)).toBe(true);
    const report = fs.readFileSync(path.join(out, 'report.md'), 'utf8');
    expect(report).toContain('| bbox |');
    expect(report).toContain('![training loss](loss.png)');
    expect(report).toContain(`![${s.drawn[0]}](${s.drawn[0]})`);
    expect(fs.readFileSync(path.join(out, 'loss.png')).subarray(1, 4).toString()).toBe('PNG');
    expect(fs.readdirSync(path.join(out, 'detections'))).toEqual(['000000.png']);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8')).iterationsLog).toHaveLength(2);
    const { tensors, metadata } = readSafetensors(fs.readFileSync(path.join(out, 'model.safetensors')));
    expect(tensors.get('backbone.body.conv1.weight')?.shape).toEqual([64, 3, 7, 7]);
    expect(tensors.get('roi_heads.mask_predictor.mask_fcn_logits.weight')?.shape).toEqual([5, 64, 1, 1]);
    expect(JSON.parse(metadata['residual.demo'] as string).fpnChannels).toBe(64);
    tf.dispose([...tensors.values()]);
  });

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
