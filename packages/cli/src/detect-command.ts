import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { writeFileAtomic } from '@residual/core/node';
import { readImage } from '@residual/data';
import type { Detection, GeneralizedRCNN } from '@residual/faster-rcnn';
import {
  MaskRCNN,
  readDetectorMetadata,
  toCocoResults,
  type CocoDetectionResult,
  type CompressedRle,
  type DetectorCategory,
} from '@residual/mask-rcnn';
import { ENGINE_NAMES, useEngine, type EngineName } from '@residual/onnx';
import type { ResNetName } from '@residual/resnet';
import { BACKBONES, DETECTOR_ARCHS, type DetectorArch, type DetectorBuildOptions } from './arch-table.js';
import { annCategoryMap, defaultCategoryMap, type CategoryMap } from './category-map.js';
import type { Command, CommandContext } from './command.js';
import { DETECTOR_MODEL_HELP, DETECTOR_MODEL_OPTIONS, detectorModelOptions, loadDetectorModel } from './detector-options.js';
import { readSafetensorsMetadata } from './load-weights.js';
import { drawDetections } from './draw-detections.js';
import { fuseTraced } from './fuse-traced.js';
import { choiceFlag, numberFlag, positionals, stringFlag } from './flag-values.js';
import { DetectPool, forEachInOrder, fromPlainDetection, threadsPerWorker } from './detect-pool.js';
import { listImages, parseShard, shardImages, type Shard } from './image-list.js';

/** The validated flags of `residual detect`. */
export interface DetectFlags {
  inputs: string[];
  /** Absent: the weights' metadata must say it (`residual demo`'s weights). */
  arch?: DetectorArch;
  /** Absent: read from the weights. */
  backbone?: ResNetName;
  weights: string;
  numClasses?: number;
  model: Omit<DetectorBuildOptions, 'numClasses'>;
  /** The model flags given on the command line (a stored architecture keeps its own values for the others). */
  modelFlagsGiven: string[];
  out?: string;
  draw?: string;
  drawThreshold: number;
  ann?: string;
  identity: boolean;
  shard: Shard;
  /** Engine of predict: 'tfjs' (default) or 'onnxruntime' (dense parts on onnxruntime-node). */
  engine: EngineName;
  /** Worker threads (1: detect in this thread). */
  workers: number;
}

/** Reads and checks the flags of `residual detect` (UsageError, exit 2, for anything wrong). */
export function detectFlags(ctx: CommandContext): DetectFlags {
  const inputs = positionals(ctx, 'detect', 'IMAGES... or DIR', 1, true);
  const arch = choiceFlag(ctx, 'detect', 'arch', DETECTOR_ARCHS);
  const backbone = choiceFlag(ctx, 'detect', 'backbone', BACKBONES);
  const weights = stringFlag(ctx, 'detect', 'weights', true);
  const numClasses = ctx.values['num-classes'] === undefined ? undefined : numberFlag(ctx, 'detect', 'num-classes', 0, { integer: true, min: 2 });
  const boxScoreThresh = numberFlag(ctx, 'detect', 'score-threshold', 0.05, { min: 0 });
  const model = { ...detectorModelOptions(ctx, 'detect'), boxScoreThresh };
  const identity = choiceFlag(ctx, 'detect', 'label-map', ['identity'] as const) === 'identity';
  const shardText = stringFlag(ctx, 'detect', 'shard');
  return {
    inputs,
    arch,
    backbone,
    weights,
    numClasses,
    model,
    modelFlagsGiven: [...Object.keys(DETECTOR_MODEL_OPTIONS), 'score-threshold'].filter((name) => ctx.values[name] !== undefined),
    out: stringFlag(ctx, 'detect', 'out'),
    draw: stringFlag(ctx, 'detect', 'draw'),
    drawThreshold: numberFlag(ctx, 'detect', 'draw-threshold', 0.5, { min: 0 }),
    ann: stringFlag(ctx, 'detect', 'ann'),
    identity,
    shard: shardText === undefined ? { index: 0, count: 1 } : parseShard(shardText, 'detect'),
    engine: choiceFlag(ctx, 'detect', 'engine', ENGINE_NAMES, 'tfjs'),
    workers: numberFlag(ctx, 'detect', 'workers', 1, { integer: true, min: 1 }),
  };
}

/**
 * The category map of `--ann`, else of the categories stored in the weights (`stored`, ids and names
 * by label), else the default one, for a detector with `numClasses` classes.
 */
async function categoryMap(flags: DetectFlags, numClasses: number, stored?: readonly DetectorCategory[]): Promise<CategoryMap> {
  if (flags.ann) return annCategoryMap(flags.ann, numClasses, flags.identity);
  const fallback = defaultCategoryMap(numClasses);
  if (!stored || flags.identity) return fallback;
  return { imageId: fallback.imageId, categoryId: (label) => stored[label - 1].id, name: (label) => stored[label - 1].name };
}

/**
 * Builds the detector of `flags` with the weights loaded (eval mode; see loadDetectorModel), its
 * category map and class count. On the tfjs engine the backbone runs fused (Conv + FrozenBatchNorm
 * + ReLU as one conv, see fuseTraced); `release()` unfuses and disposes the model.
 */
export async function loadDetector(flags: DetectFlags): Promise<{ model: GeneralizedRCNN; categories: CategoryMap; numClasses: number; release: () => void }> {
  const { model, numClasses, categories: stored } = await loadDetectorModel({ command: 'detect', ...flags });
  try {
    const categories = await categoryMap(flags, numClasses, stored);
    if (flags.engine !== 'tfjs') await useEngine(model, flags.engine);
    const { backbone } = model;
    const fusion = flags.engine === 'tfjs' ? fuseTraced(backbone, (x) => backbone.forward(x)) : undefined;
    const release = (): void => {
      fusion?.unfuse();
      model.dispose();
    };
    return { model, categories, numClasses, release };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** Detections of one image: Mask R-CNN's masks come as COCO RLE (one H×W byte mask alive at a time). */
export async function predictOne(model: GeneralizedRCNN, image: tf.Tensor3D): Promise<Detection & { masks?: CompressedRle[] }> {
  if (model instanceof MaskRCNN) return (await model.predict([image], { maskFormat: 'rle' }))[0];
  const [{ boxes, scores, labels }] = await model.predict([image]); // Faster R-CNN: no masks
  return { boxes, scores, labels };
}

/** Detections of one image file (the caller disposes the tensors), a category map, and how to stop. */
interface FileDetector {
  detectFile(file: string): Promise<Detection & { masks?: CompressedRle[] }>;
  categories: CategoryMap;
  close(): Promise<void>;
}

/** The detector in this thread: one image at a time. */
async function localDetector(flags: DetectFlags): Promise<FileDetector> {
  const { model, categories, release } = await loadDetector(flags);
  const detectFile = async (file: string): Promise<Detection & { masks?: CompressedRle[] }> => {
    const image = await readImage(file);
    try {
      return await predictOne(model, image);
    } finally {
      image.dispose();
    }
  };
  return { detectFile, categories, close: async () => release() };
}

/** `--workers N`: a pool of worker threads, each with its own detector. */
async function poolDetector(flags: DetectFlags, backend: string | undefined): Promise<FileDetector> {
  const pool = await DetectPool.start(flags.workers, { flags, backend, wasmThreads: threadsPerWorker(flags.workers) });
  try {
    // The workers checked the metadata; here only the stored categories are needed.
    const stored = readDetectorMetadata(await readSafetensorsMetadata(flags.weights), `--weights ${flags.weights}`).categories;
    const categories = await categoryMap(flags, pool.numClasses, stored);
    return { detectFile: async (file) => fromPlainDetection(await pool.detect(file)), categories, close: () => pool.close() };
  } catch (e) {
    await pool.close();
    throw e;
  }
}

async function runDetect(ctx: CommandContext): Promise<void> {
  const flags = detectFlags(ctx);
  const images = shardImages(await listImages(flags.inputs), flags.shard);
  await ctx.initBackend();
  const { detectFile, categories, close } = flags.workers > 1 ? await poolDetector(flags, ctx.common.backend) : await localDetector(flags);
  const imageIds = images.map(({ file, index }) => categories.imageId(file, index));
  const results: CocoDetectionResult[] = [];
  const progress = ctx.progress('detect', images.length);
  try {
    // Workers run ahead (two images each); results are written in input order, as with one thread.
    const lookahead = flags.workers > 1 ? 2 * flags.workers : 1;
    await forEachInOrder(images.map(({ file }) => file), detectFile, lookahead, async (detection, i) => {
      const { file } = images[i];
      try {
        results.push(...toCocoResults([detection], [imageIds[i]], (label) => categories.categoryId(label)));
        if (flags.draw) {
          const drawable = { boxes: detection.boxes.dataSync(), scores: detection.scores.dataSync(), labels: detection.labels.dataSync(), masks: detection.masks };
          const out = path.join(flags.draw, `${path.basename(file, path.extname(file))}.png`);
          await drawDetections(file, drawable, out, { threshold: flags.drawThreshold, name: (label) => categories.name(label) });
        }
      } finally {
        tf.dispose([detection.boxes, detection.scores, detection.labels]);
      }
      progress.tick(`${file} ${detection.scores.shape[0]} detections`);
    });
  } finally {
    progress.done();
    await close();
  }
  const text = JSON.stringify(results);
  if (flags.out) await writeFileAtomic(flags.out, new TextEncoder().encode(text));
  const summary = { images: images.length, detections: results.length, out: flags.out ?? null, draw: flags.draw ?? null };
  if (!flags.out) ctx.print(text);
  else if (ctx.common.json) ctx.printJson(summary);
  else ctx.print(`${results.length} detections in ${images.length} images → ${flags.out}${flags.draw ? `, pictures in ${flags.draw}` : ''}`);
}

/** `residual detect IMAGES... | DIR --arch ... --weights ...`: COCO results JSON and annotated PNGs. */
export const detectCommand: Command = {
  name: 'detect',
  summary: 'detect objects in images (Faster/Mask R-CNN) → COCO results JSON, annotated PNGs',
  help: `Usage: residual detect IMAGES... | DIR --weights FILE [--arch fasterrcnn|maskrcnn]
                       [--backbone NAME] [--num-classes N] [--score-threshold 0.05]
                       [--ann COCO.json] [--label-map identity] [--out results.json]
                       [--draw DIR] [--draw-threshold 0.5] [--shard i/n] [--workers N]
                       [model flags]

Runs a detector on images (and on every image of each DIR), in path order, and writes COCO
results (image_id, category_id, bbox as x,y,w,h, score; segmentation as compressed RLE for
maskrcnn). The backbone and the number of classes are read from the weights (torchvision keys).
Weights written by \`residual demo\` carry their architecture, image size and category names in
their metadata: that model is built (no --arch needed; model flags given override its settings).

Flags:
  --arch fasterrcnn|maskrcnn    detector architecture (checked against the weights; required
                                unless their metadata describes the model, as the demo's does)
  --weights FILE                safetensors or torch .pth state dict with torchvision keys
  --backbone NAME               ${BACKBONES.join(', ')} (default: read from the weights)
  --num-classes N               classes with the background (default: read from the weights)
  --score-threshold X           keep detections scoring above X (default 0.05, as torchvision)
  --ann FILE                    COCO instances JSON: image ids by file name; labels 1..K are its
                                categories in ascending id order (as residual train numbers them)
  --label-map identity          the labels are COCO category ids (torchvision's 91-class weights);
                                without --ann, image ids are 1, 2, ... in path order
  --out FILE                    write the results JSON there (default: print it on stdout)
  --draw DIR                    annotated PNGs (masks, boxes, names, scores) as DIR/<image name>.png
  --draw-threshold X            draw detections scoring at least X (default 0.5)
  --engine tfjs|onnxruntime     run the backbone and heads on tfjs (default) or onnxruntime-node (an
                                optional package); anchors, NMS, RoIAlign, pasting stay in TypeScript
  --shard i/n                   only the images k of the sorted list with k mod n = i (image ids
                                stay those of the whole list, so the shards' results concatenate)
  --workers N                   detect in N worker threads, each with its own copy of the model
                                (data-parallel over images; the same results, in the same order)
${DETECTOR_MODEL_HELP}`,
  options: {
    arch: { type: 'string' },
    backbone: { type: 'string' },
    weights: { type: 'string' },
    'num-classes': { type: 'string' },
    'score-threshold': { type: 'string' },
    ann: { type: 'string' },
    'label-map': { type: 'string' },
    out: { type: 'string' },
    draw: { type: 'string' },
    'draw-threshold': { type: 'string' },
    shard: { type: 'string' },
    engine: { type: 'string' },
    workers: { type: 'string' },
    ...DETECTOR_MODEL_OPTIONS,
  },
  run: runDetect,
};
