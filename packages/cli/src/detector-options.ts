import type * as tf from '@tensorflow/tfjs-core';
import { StateDictError } from '@residual/core';
import type { GeneralizedRCNN } from '@residual/faster-rcnn';
import {
  CATEGORIES_METADATA_KEY,
  MASKRCNN_CONFIG_METADATA_KEY,
  inferArchitecture,
  maskrcnnFromConfig,
  readDetectorMetadata,
  type DetectorCategory,
  type MaskRCNNConfig,
} from '@residual/mask-rcnn';
import type { ResNetName } from '@residual/resnet';
import { DETECTORS, type DetectorArch, type DetectorBuildOptions } from './arch-table.js';
import { UsageError, type CommandContext } from './command.js';
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
  arch: DetectorArch;
  backbone: ResNetName;
  numClasses: number;
  /** The architecture stored in the file's metadata (`residual demo`'s weights): build it, not torchvision's. */
  config?: MaskRCNNConfig;
  /** The categories stored in the file's metadata (label k is entry k − 1). */
  categories?: DetectorCategory[];
}

/** What a command (detect, export) asks of the detector in `--weights`: its flags. */
export interface DetectorRequest {
  /** The command's name, for messages (`detect`, `export`). */
  command: string;
  /** The `--weights` file. */
  weights: string;
  /** Absent: the weights' metadata must say it (`residual demo`'s weights). */
  arch?: DetectorArch;
  /** Absent: read from the weights. */
  backbone?: ResNetName;
  /** Classes with the background; absent: read from the weights. */
  numClasses?: number;
  /** Model settings (defaults filled in); absent: the builders' own defaults. */
  model?: Omit<DetectorBuildOptions, 'numClasses'>;
  /** The model flags given on the command line (a stored architecture keeps its own values for the others). */
  modelFlagsGiven?: readonly string[];
}

/**
 * Loads detector weights (safetensors or torch) and checks them against `--arch` and `--backbone`
 * (each optional; else read from the weights). A file whose metadata describes its architecture
 * ({@link MASKRCNN_CONFIG_METADATA_KEY}, as `residual demo` writes) is that Mask R-CNN; any other file
 * must be a torchvision Faster/Mask R-CNN, and then `--arch` is required. A file of another
 * architecture or backbone, or with bad metadata, is an error naming the file and both sides.
 */
export async function loadDetectorWeights(request: Pick<DetectorRequest, 'command' | 'weights' | 'arch' | 'backbone'>): Promise<DetectorWeights> {
  const { command, weights: file, arch, backbone } = request;
  const { tensors, metadata } = await loadWeights(file, '--weights');
  try {
    const { config, categories } = readDetectorMetadata(metadata, `--weights ${file}`);
    let found: { arch: DetectorArch; backbone: ResNetName; numClasses: number };
    if (config) {
      found = { arch: 'maskrcnn', backbone: config.backbone, numClasses: classCount(tensors, file) };
    } else {
      if (arch === undefined) throw new UsageError(`residual ${command}: missing required flag --arch (--weights ${file} does not say its architecture)`);
      try {
        found = inferArchitecture(tensors);
      } catch (e) {
        throw new StateDictError(`--weights ${file} is not a torchvision Faster/Mask R-CNN state dict (${(e as Error).message})`);
      }
    }
    if ((arch !== undefined && found.arch !== arch) || (backbone !== undefined && found.backbone !== backbone)) {
      const asked = backbone === undefined ? arch : arch === undefined ? `model on ${backbone}` : `${arch} on ${backbone}`;
      const what = config ? `a ${found.arch} on ${found.backbone} (its metadata "${MASKRCNN_CONFIG_METADATA_KEY}")` : `a ${found.arch} on ${found.backbone}`;
      throw new StateDictError(`--weights ${file} holds ${what}, not a ${asked}`);
    }
    if (categories && categories.length + 1 !== found.numClasses) {
      throw new StateDictError(`--weights ${file}: metadata "${CATEGORIES_METADATA_KEY}" names ${categories.length} categories, but the weights have ${found.numClasses} classes (background included)`);
    }
    return { tensors, ...found, ...(config ? { config } : {}), ...(categories ? { categories } : {}) };
  } catch (e) {
    for (const t of tensors.values()) t.dispose();
    throw e;
  }
}

/**
 * The detector the weights describe, untrained: the architecture in their metadata (model flags
 * given override its sizes and inference settings), else torchvision's `--arch` on their backbone.
 */
export function buildDetector(request: DetectorRequest, weights: DetectorWeights, numClasses: number): GeneralizedRCNN {
  const m = request.model;
  if (!weights.config) return DETECTORS[weights.arch](weights.backbone, { ...m, numClasses });
  const flagsGiven = request.modelFlagsGiven ?? [];
  if (flagsGiven.includes('frozen-bn-eps')) {
    throw new UsageError(`residual ${request.command}: --frozen-bn-eps does not apply to --weights ${request.weights} (its model has BatchNorm2d with stored statistics)`);
  }
  const given = <T>(flag: string, value: T): T | undefined => (flagsGiven.includes(flag) ? value : undefined);
  return maskrcnnFromConfig(weights.config, {
    numClasses,
    minSize: given('min-size', m?.minSize as number | undefined), // the flag gives one number
    maxSize: given('max-size', m?.maxSize),
    rpnPreNmsTopNTest: given('rpn-pre-nms-top-n-test', m?.rpnPreNmsTopNTest),
    rpnPostNmsTopNTest: given('rpn-post-nms-top-n-test', m?.rpnPostNmsTopNTest),
    boxDetectionsPerImg: m?.boxDetectionsPerImg,
    boxScoreThresh: m?.boxScoreThresh,
  });
}

/** A detector built and loaded from `--weights` (eval mode; the caller disposes it), and what the file says. */
export interface LoadedDetector {
  model: GeneralizedRCNN;
  arch: DetectorArch;
  numClasses: number;
  /** The categories stored in the file's metadata (label k is entry k − 1). */
  categories?: DetectorCategory[];
}

/**
 * Loads `--weights` ({@link loadDetectorWeights}), builds the model they describe
 * ({@link buildDetector}) and loads them into it: the one path of every command that runs or
 * exports a detector file.
 */
export async function loadDetectorModel(request: DetectorRequest): Promise<LoadedDetector> {
  const weights = await loadDetectorWeights(request);
  let model: GeneralizedRCNN | undefined;
  try {
    const numClasses = request.numClasses ?? weights.numClasses;
    model = buildDetector(request, weights, numClasses);
    model.loadStateDict(weights.tensors);
    model.eval();
    return { model, arch: weights.arch, numClasses, ...(weights.categories ? { categories: weights.categories } : {}) };
  } catch (e) {
    model?.dispose();
    throw e;
  } finally {
    for (const t of weights.tensors.values()) t.dispose();
  }
}

/** Classes (background included) of a Mask R-CNN's box predictor. */
function classCount(tensors: ReadonlyMap<string, tf.Tensor>, file: string): number {
  const key = 'roi_heads.box_predictor.cls_score.weight';
  const w = tensors.get(key);
  if (!w) throw new StateDictError(`--weights ${file} has no "${key}" (the class count of a Mask R-CNN)`);
  return w.shape[0];
}
