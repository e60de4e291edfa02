import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { readImage, type CocoDataset } from '@residual/data';
import { CocoEvaluator, type CocoDatasetJson, type CocoResult, type IouType } from '@residual/eval';
import type { GeneralizedRCNN } from '@residual/faster-rcnn';
import { MaskRCNN, toCocoResults, type CocoDetectionResult } from '@residual/mask-rcnn';
import { fuseTraced } from './fuse-traced.js';

/** AP and AP50 (pycocotools' stats[0] and stats[1]) per IoU type, and the 12-line summaries. */
export interface DetectorEvaluation {
  bbox: { AP: number; AP50: number; summary: string };
  /** Mask R-CNN only. */
  segm?: { AP: number; AP50: number; summary: string };
  /** Result rows evaluated. */
  detections: number;
}

/**
 * Runs `model` (eval mode; the mode is left as eval) on every image of `dataset` in its order and
 * evaluates the detections against the data set's own annotations with {@link CocoEvaluator}:
 * boxes, and masks for Mask R-CNN (compressed RLE of `> 0.5`). Labels map back to category ids
 * through the data set. The backbone runs fused meanwhile (each Conv + BatchNorm (+ ReLU) as one conv,
 * see fuseTraced) and is unfused before this returns, so training can resume on the plain modules.
 * Disposes everything it creates.
 */
export async function evaluateDetector(model: GeneralizedRCNN, dataset: CocoDataset): Promise<DetectorEvaluation> {
  model.eval();
  const results: CocoDetectionResult[] = [];
  const toCategory = (label: number): number => dataset.labelToCategoryId.get(label) as number;
  const { backbone } = model;
  const fusion = fuseTraced(backbone, (x) => backbone.forward(x));
  try {
    for (let i = 0; i < dataset.length; i++) {
      const info = dataset.imageInfo(i);
      const image = await readImage(path.join(dataset.imageDir, info.file_name));
      try {
        const [d] = model instanceof MaskRCNN ? await model.predict([image], { maskFormat: 'rle' }) : await model.predict([image]);
        try {
          results.push(...toCocoResults([d], [info.id], toCategory));
        } finally {
          tf.dispose([d.boxes, d.scores, d.labels]);
        }
      } finally {
        image.dispose();
      }
    }
  } finally {
    fusion.unfuse();
  }
  const evaluator = new CocoEvaluator(dataset.json as unknown as CocoDatasetJson);
  const measure = (iouType: IouType): { AP: number; AP50: number; summary: string } => {
    const e = evaluator.evaluate(results as unknown as CocoResult[], iouType);
    return { AP: e.named.AP, AP50: e.named.AP50, summary: e.summary };
  };
  return { bbox: measure('bbox'), ...(model instanceof MaskRCNN ? { segm: measure('segm') } : {}), detections: results.length };
}
