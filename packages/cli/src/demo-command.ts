import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Generator } from '@residual/core';
import { saveSafetensors, writeFileAtomic } from '@residual/core/node';
import { CocoDataset, readImage, writeShapesDataset } from '@residual/data';
import { CATEGORIES_METADATA_KEY, MASKRCNN_CONFIG_METADATA_KEY, toCocoResults, type CocoDetectionResult } from '@residual/mask-rcnn';
import type { Command, CommandContext } from './command.js';
import { buildDemoDetector, demoDetectorConfig } from './demo-model.js';
import { trainForBudget } from './demo-train.js';
import { predictOne } from './detect-command.js';
import { drawDetections } from './draw-detections.js';
import { fuseTraced } from './fuse-traced.js';
import { evaluateDetector, type DetectorEvaluation } from './evaluate-detector.js';
import { choiceFlag, numberFlag, positionals, stringFlag } from './flag-values.js';
import { curvesPng, movingAverage } from './loss-curve.js';
import type { IterationRecord } from './train-loop.js';
import { demoReport, type DemoSummary } from './demo-report.js';

/** The validated flags of `residual demo`. */
export interface DemoFlags {
  out: string;
  minutes: number;
  iterations: number;
  images: number;
  valImages: number;
  size: number;
  batchSize: number;
  optimizer: 'sgd' | 'adamw';
  lr: number;
  seed: number;
  draw: number;
}

/** AdamW's default peak learning rate is 1e-3, SGD's 0.01 (both measured best of a few on this set). */
function defaultLr(ctx: CommandContext): number {
  return ctx.values.optimizer === 'sgd' ? 0.01 : 1e-3;
}

function demoFlags(ctx: CommandContext): DemoFlags {
  positionals(ctx, 'demo', 'none', 0);
  const int = (name: string, fallback: number, min = 1): number => numberFlag(ctx, 'demo', name, fallback, { integer: true, min });
  return {
    out: stringFlag(ctx, 'demo', 'out') ?? 'residual-demo',
    minutes: numberFlag(ctx, 'demo', 'minutes', 13, { min: 0.05 }),
    iterations: int('iterations', 720),
    images: int('images', 400),
    valImages: int('val-images', 50),
    size: numberFlag(ctx, 'demo', 'size', 128, { integer: true, min: 64 }),
    batchSize: int('batch-size', 2),
    optimizer: choiceFlag(ctx, 'demo', 'optimizer', ['sgd', 'adamw'] as const, 'adamw'),
    lr: numberFlag(ctx, 'demo', 'lr', defaultLr(ctx), { min: 0 }),
    seed: int('seed', 0, 0),
    draw: int('draw', 8, 0),
  };
}

/** Detections drawn on the pictures: a short run leaves many true objects at scores of 0.3–0.5. */
const DRAW_THRESHOLD = 0.3;

const seconds = (since: number): number => (Date.now() - since) / 1000;

async function runDemo(ctx: CommandContext): Promise<void> {
  const f = demoFlags(ctx);
  const started = Date.now();
  const backend = await ctx.initBackend();
  const shapes = { imageSize: f.size, minShapeSize: 16, maxShapeSize: Math.min(64, f.size) };
  const trainFiles = await writeShapesDataset(path.join(f.out, 'data', 'train'), { ...shapes, numImages: f.images, seed: f.seed });
  const valFiles = await writeShapesDataset(path.join(f.out, 'data', 'val'), { ...shapes, numImages: f.valImages, seed: f.seed + 1 });
  ctx.note(`shapes data: ${trainFiles.numImages} training and ${valFiles.numImages} validation images of ${f.size} px in ${path.join(f.out, 'data')}`);
  const trainSet = await CocoDataset.load(trainFiles.annotationFile, trainFiles.imageDir, { masks: true });
  const valSet = await CocoDataset.load(valFiles.annotationFile, valFiles.imageDir, { masks: true });
  const config = demoDetectorConfig(f.size);
  const model = buildDemoDetector(trainSet.numClasses, f.size, new Generator(f.seed));
  try {
    const trainStart = Date.now();
    const bar = ctx.progress('training', f.iterations);
    const records = await trainForBudget(
      model,
      trainSet,
      { iterations: f.iterations, seconds: f.minutes * 60, batchSize: f.batchSize, optimizer: f.optimizer, lr: f.lr, warmupIters: 50, maxGradNorm: 10, generator: new Generator(f.seed + 2) },
      (r) => bar.tick(`loss ${r.loss.toFixed(3)} lr ${r.lr.toExponential(1)}`),
    );
    bar.done();
    const trainSeconds = seconds(trainStart);
    await mkdir(f.out, { recursive: true });
    const weights = path.join(f.out, 'model.safetensors');
    const dict = model.stateDict();
    try {
      // The architecture and the categories travel with the weights, so `residual detect` and the web page rebuild the model.
      const categories = trainSet.categories.map(({ id, name }) => ({ id, name }));
      const metadata = { format: 'pt', [MASKRCNN_CONFIG_METADATA_KEY]: JSON.stringify(config), [CATEGORIES_METADATA_KEY]: JSON.stringify(categories) };
      await saveSafetensors(weights, dict, { metadata });
    } finally {
      tf.dispose([...dict.values()]);
    }
    ctx.note(`trained ${records.length} steps in ${trainSeconds.toFixed(0)} s; evaluating on ${valSet.length} validation images`);
    const evalStart = Date.now();
    const evaluation = await evaluateDetector(model, valSet);
    const evalSeconds = seconds(evalStart);
    const drawn = await drawExamples(model, valSet, f);
    await writeFileAtomic(path.join(f.out, 'loss.png'), await curvesPng(lossCurves(records), 'Mask R-CNN (R18-FPN) on shapes: training loss'));
    const summary: DemoSummary = {
      backend, iterations: records.length, plannedIterations: f.iterations, batchSize: f.batchSize, size: f.size,
      trainImages: trainSet.length, valImages: valSet.length, trainSeconds, evalSeconds, totalSeconds: seconds(started),
      firstLoss: records[0]?.loss ?? NaN, lastLoss: records.length ? movingAverage(records.map((r) => r.loss), 20).at(-1) as number : NaN,
      bbox: evaluation.bbox, segm: evaluation.segm, model: config, drawn: drawn.files.map((p) => path.relative(f.out, p)),
      detectCommand: detectCommandLine(f.out, valFiles.imageDir),
    };
    await writeFile(path.join(f.out, 'report.md'), demoReport(summary, evaluation));
    await writeFileAtomic(path.join(f.out, 'report.json'), Buffer.from(JSON.stringify({ ...summary, drawnDetections: drawn.results, iterationsLog: records }, null, 2)));
    printSummary(ctx, f.out, summary, evaluation);
  } finally {
    model.dispose();
  }
}

/** The loss and each term, smoothed over 10 steps. */
function lossCurves(records: readonly IterationRecord[]): Array<{ name: string; steps: number[]; values: number[] }> {
  const steps = records.map((r) => r.iteration);
  const names = Object.keys(records[0]?.losses ?? {});
  return [
    { name: 'total', steps, values: movingAverage(records.map((r) => r.loss), 10) },
    ...names.map((n) => ({ name: n.replace(/^loss_/, ''), steps, values: movingAverage(records.map((r) => (r.losses as Record<string, number>)[n]), 10) })),
  ];
}

/**
 * Annotated PNGs of the first `f.draw` validation images (score ≥ {@link DRAW_THRESHOLD}) and their
 * detections as COCO results (all of them, as `residual detect` writes them), for report.json.
 */
async function drawExamples(model: ReturnType<typeof buildDemoDetector>, valSet: CocoDataset, f: DemoFlags): Promise<{ files: string[]; results: CocoDetectionResult[] }> {
  const files: string[] = [];
  const results: CocoDetectionResult[] = [];
  model.eval();
  // Fused as `residual detect` runs it, so its detections of these images equal report.json's.
  const { backbone } = model;
  const fusion = fuseTraced(backbone, (x) => backbone.forward(x));
  try {
    for (let i = 0; i < Math.min(f.draw, valSet.length); i++) {
      const info = valSet.imageInfo(i);
      const file = path.join(valSet.imageDir, info.file_name);
      const image = await readImage(file);
      let d;
      try {
        d = await predictOne(model, image);
      } finally {
        image.dispose();
      }
      try {
        results.push(...toCocoResults([d], [info.id], (label) => valSet.labelToCategoryId.get(label) as number));
        const out = path.join(f.out, 'detections', `${path.parse(info.file_name).name}.png`);
        const drawable = { boxes: d.boxes.dataSync(), scores: d.scores.dataSync(), labels: d.labels.dataSync(), masks: d.masks };
        await drawDetections(file, drawable, out, { threshold: DRAW_THRESHOLD, name: (label) => valSet.categories[label - 1]?.name ?? String(label), scale: 3 });
        files.push(out);
      } finally {
        tf.dispose([d.boxes, d.scores, d.labels]);
      }
    }
  } finally {
    fusion.unfuse();
  }
  return { files, results };
}

/** The command that runs the demo's model on other images (here: the validation images), as report.md prints it. */
export function detectCommandLine(out: string, imageDir: string): string {
  const detected = path.join(out, 'detect');
  return `residual detect ${imageDir} --weights ${path.join(out, 'model.safetensors')} --draw ${detected} --draw-threshold ${DRAW_THRESHOLD} --out ${path.join(detected, 'results.json')}`;
}

function printSummary(ctx: CommandContext, out: string, s: DemoSummary, e: DetectorEvaluation): void {
  if (ctx.common.json) {
    ctx.printJson({ out, ...s, bboxSummary: e.bbox.summary, segmSummary: e.segm?.summary });
    return;
  }
  const pct = (v: number | undefined): string => (v === undefined ? '-' : v.toFixed(3));
  ctx.print(`Mask R-CNN (ResNet-18 FPN) on shapes, ${s.iterations} steps of batch ${s.batchSize} in ${(s.trainSeconds / 60).toFixed(1)} min on ${s.backend}`);
  ctx.print(`  loss ${s.firstLoss.toFixed(3)} → ${s.lastLoss.toFixed(3)}`);
  ctx.print(`  bbox AP ${pct(s.bbox.AP)}  AP50 ${pct(s.bbox.AP50)}   segm AP ${pct(s.segm?.AP)}  AP50 ${pct(s.segm?.AP50)}   (${s.valImages} validation images)`);
  ctx.print(`  total time ${(s.totalSeconds / 60).toFixed(1)} min`);
  ctx.print(`report:   ${path.join(out, 'report.md')}`);
  ctx.print(`pictures: ${path.join(out, 'detections')}/, loss curve ${path.join(out, 'loss.png')}`);
  ctx.print(`weights:  ${path.join(out, 'model.safetensors')}`);
  ctx.print(`detect on other images: ${s.detectCommand}`);
}

/** `residual demo`: the README's main job — shapes data, a small Mask R-CNN trained for minutes, COCO mAP, pictures, report. */
export const demoCommand: Command = {
  name: 'demo',
  summary: 'make the shapes set, train a small Mask R-CNN for a few minutes, evaluate, draw, report',
  help: `Usage: residual demo [--out residual-demo] [--minutes 13] [--iterations 720] [--images 400]
                     [--val-images 50] [--size 128] [--batch-size 2] [--optimizer adamw|sgd] [--lr X]
                     [--seed 0] [--draw 8]

The whole job on one machine, offline: writes the seeded shapes data set (COCO folders for training
and validation), trains a small Mask R-CNN (ResNet-18 FPN from scratch with BatchNorm, 64-channel
pyramid on layers 1–3, light heads) with AdamW (or SGD), gradient clipping, warm-up and cosine decay, then evaluates COCO bbox and
segm AP on the validation images, draws annotated PNGs and writes OUT/report.md (with the pictures
and the loss curve), report.json and model.safetensors (torchvision key names).

Training stops after --iterations steps or --minutes, whichever comes first; the schedule follows
that progress, so a slower machine still ends on time with an annealed learning rate.

Flags:
  --out DIR          output folder (default residual-demo)
  --minutes M        training time budget (default 13: with data, evaluation and pictures the
                     whole run stays under 15 minutes on 2 cores)
  --iterations N     planned training steps (default 720, about 13 minutes on an idle 2-core machine)
  --images N         training images (default 400); --val-images N validation images (default 50)
  --size S           image side in pixels (default 128)
  --batch-size N     images per step (default 2)
  --optimizer NAME   adamw (default) or sgd (momentum 0.9); weight decay 1e-4 for both
  --lr X             peak learning rate (default 1e-3 for adamw, 0.01 for sgd)
  --seed S           seed of data, initialisation, shuffling and sampling (default 0)
  --draw N           annotated validation images to write (default 8)`,
  options: {
    out: { type: 'string' },
    minutes: { type: 'string' },
    iterations: { type: 'string' },
    images: { type: 'string' },
    'val-images': { type: 'string' },
    size: { type: 'string' },
    'batch-size': { type: 'string' },
    optimizer: { type: 'string' },
    lr: { type: 'string' },
    seed: { type: 'string' },
    draw: { type: 'string' },
  },
  run: runDemo,
};
