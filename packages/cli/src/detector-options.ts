import type * as tf from '@tensorflow/tfjs-core';
import { StateDictError } from '@residual/core';
import { inferArchitecture } from '@residual/mask-rcnn';
import type { ResNetName } from '@residual/resnet';
import type { DetectorArch, DetectorBuildOptions } from './arch-table.js';
import type { CommandContext } from './command.js';
import { numberFlag } from './flag-values.js';
import { loadWeights } from './load-weights.js';

/** Flags that set a detector's transform and inference options (detect and train), as parseArgs takes them. */
export const DETECTOR_MODEL_OPTIONS = {
  'min-size': { type: 'string' },
  'max-size': { type: 'string' },
  'rpn-pre-nms-top-n-test': { type: 'string' },
  'rpn-post-nms-top-n-test': { type: 'string' },
  'box-detections-per-img': { type: 'string' },
  'frozen-bn-eps': { type: 'string' },
} as const;

/** Help lines of {@link DETECTOR_MODEL_OPTIONS}. */
export const DETECTOR_MODEL_HELP = `  --min-size N, --max-size N    resize rule of the model's transform (default 800, 1333)
  --rpn-pre-nms-top-n-test N    proposals per level before NMS at inference (default 1000)
  --rpn-post-nms-top-n-test N   proposals kept after NMS at inference (default 1000)
  --box-detections-per-img N    detections kept per image (default 100)
  --frozen-bn-eps X             eps of the frozen batch norms (default 1e-5; 0 for torchvision's COCO_V1 weights)`;

/** Reads the flags of {@link DETECTOR_MODEL_OPTIONS} (UsageError, exit 2, for a bad value). */
export function detectorModelOptions(ctx: CommandContext, command: string): Omit<DetectorBuildOptions, 'numClasses'> {
  const int = (name: string, fallback: number): number => numberFlag(ctx, command, name, fallback, { integer: true, min: 1 });
  return {
    minSize: int('min-size', 800),
    maxSize: int('max-size', 1333),
    rpnPreNmsTopNTest: int('rpn-pre-nms-top-n-test', 1000),
    rpnPostNmsTopNTest: int('rpn-post-nms-top-n-test', 1000),
    boxDetectionsPerImg: int('box-detections-per-img', 100),
    frozenBnEps: numberFlag(ctx, command, 'frozen-bn-eps', 1e-5, { min: 0 }),
  };
}

/** A detector state dict from `--weights` and what it implies. */
export interface DetectorWeights {
  /** torch keys and layouts; the caller disposes them. */
  tensors: Map<string, tf.Tensor>;
  backbone: ResNetName;
  numClasses: number;
}

/**
 * Loads detector weights (safetensors or torch) and checks them against `--arch` and `--backbone`
 * (when given; else the backbone is read from the weights). A file that is no Faster/Mask R-CNN, or
 * one of another architecture or backbone, is a StateDictError naming the file and both sides.
 */
export async function loadDetectorWeights(file: string, arch: DetectorArch, backbone?: ResNetName): Promise<DetectorWeights> {
  const { tensors } = await loadWeights(file, '--weights');
  try {
    let found;
    try {
      found = inferArchitecture(tensors);
    } catch (e) {
      throw new StateDictError(`--weights ${file} is not a torchvision Faster/Mask R-CNN state dict (${(e as Error).message})`);
    }
    if (found.arch !== arch || (backbone !== undefined && found.backbone !== backbone)) {
      const asked = backbone === undefined ? arch : `${arch} on ${backbone}`;
      throw new StateDictError(`--weights ${file} holds a ${found.arch} on ${found.backbone}, not a ${asked}`);
    }
    return { tensors, backbone: found.backbone, numClasses: found.numClasses };
  } catch (e) {
    for (const t of tensors.values()) t.dispose();
    throw e;
  }
}
