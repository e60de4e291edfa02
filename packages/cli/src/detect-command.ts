import { BACKBONES, DETECTOR_ARCHS, detectorBuilder, type DetectorArch } from './arch-table.js';
import type { Command, CommandContext } from './command.js';
import { UsageError } from './command.js';
import { choiceFlag, numberFlag, positionals, stringFlag } from './flag-values.js';

/** The validated flags of `residual detect`. */
export interface DetectFlags {
  inputs: string[];
  arch: DetectorArch;
  backbone: string;
  weights: string;
  scoreThreshold: number;
  minSize: number;
  maxSize: number;
  out?: string;
  draw?: string;
  ann?: string;
  labelMap: 'ann' | 'identity' | 'contiguous';
}

/** Reads and checks the flags of `residual detect` (UsageError, exit 2, for anything wrong). */
export function detectFlags(ctx: CommandContext): DetectFlags {
  const inputs = positionals(ctx, 'detect', 'IMAGES... or DIR', 1, true);
  const arch = choiceFlag(ctx, 'detect', 'arch', DETECTOR_ARCHS);
  if (arch === undefined) throw new UsageError('residual detect: missing required flag --arch');
  const backbone = choiceFlag(ctx, 'detect', 'backbone', BACKBONES, 'resnet50');
  const weights = stringFlag(ctx, 'detect', 'weights', true);
  const scoreThreshold = numberFlag(ctx, 'detect', 'score-threshold', 0.05, { min: 0 });
  const minSize = numberFlag(ctx, 'detect', 'min-size', 800, { integer: true, min: 1 });
  const maxSize = numberFlag(ctx, 'detect', 'max-size', 1333, { integer: true, min: 1 });
  const ann = stringFlag(ctx, 'detect', 'ann');
  const identity = choiceFlag(ctx, 'detect', 'label-map', ['identity'] as const);
  if (identity && ann) throw new UsageError('residual detect: --label-map identity and --ann both set the category map; give one');
  const labelMap = identity ? 'identity' : ann ? 'ann' : 'contiguous';
  return { inputs, arch, backbone, weights, scoreThreshold, minSize, maxSize, out: stringFlag(ctx, 'detect', 'out'), draw: stringFlag(ctx, 'detect', 'draw'), ann, labelMap };
}

async function runDetect(ctx: CommandContext): Promise<void> {
  // Flags are checked first (exit 2), then the architecture's availability (exit 1).
  detectorBuilder(detectFlags(ctx).arch, 'detect');
}

/** `residual detect IMAGES... | DIR --arch ... --weights ...`: COCO results JSON and annotated PNGs. */
export const detectCommand: Command = {
  name: 'detect',
  summary: 'detect objects in images (Faster/Mask R-CNN) → COCO results JSON, annotated PNGs',
  help: `Usage: residual detect IMAGES... | DIR --arch fasterrcnn|maskrcnn --weights FILE.safetensors
                       [--backbone resnet50] [--score-threshold 0.05] [--min-size 800] [--max-size 1333]
                       [--ann COCO.json | --label-map identity] [--out results.json] [--draw DIR]

Runs a detector on images (or every image of DIR, sorted by name) and writes COCO results.
The number of classes is read from the weights (torchvision keys).

Flags:
  --arch fasterrcnn|maskrcnn    detector architecture
  --backbone NAME               ${BACKBONES.join(', ')} (default resnet50)
  --weights FILE                safetensors weights (torchvision key names)
  --score-threshold X           drop detections scoring below X (default 0.05, as torchvision)
  --min-size N, --max-size N    resize rule of the model's transform (default 800, 1333)
  --ann FILE                    COCO instances JSON: image ids by file name, category ids by label
  --label-map identity          the model's labels are already COCO category ids (torchvision's 91-class weights)
  --out FILE                    COCO results JSON (default: print to stdout)
  --draw DIR                    annotated PNGs (boxes, labels, scores, coloured masks) into DIR`,
  options: {
    arch: { type: 'string' },
    backbone: { type: 'string' },
    weights: { type: 'string' },
    'score-threshold': { type: 'string' },
    'min-size': { type: 'string' },
    'max-size': { type: 'string' },
    ann: { type: 'string' },
    'label-map': { type: 'string' },
    out: { type: 'string' },
    draw: { type: 'string' },
  },
  run: runDetect,
};
