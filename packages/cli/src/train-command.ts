import { BACKBONES, DETECTOR_ARCHS, detectorBuilder, type DetectorArch } from './arch-table.js';
import type { Command, CommandContext } from './command.js';
import { UsageError } from './command.js';
import { choiceFlag, numberFlag, positionals, stringFlag } from './flag-values.js';

/** Learning-rate schedules of `residual train`. */
export type TrainSchedule = 'step' | 'cosine' | 'constant';

/** The validated flags of `residual train`. */
export interface TrainFlags {
  data: string;
  ann: string;
  arch: DetectorArch;
  backbone: string;
  minSize: number;
  maxSize: number;
  epochs: number;
  batchSize: number;
  lr: number;
  schedule: TrainSchedule;
  out: string;
  resume?: string;
}

/** Reads and checks the flags of `residual train` (UsageError, exit 2, for anything wrong). */
export function trainFlags(ctx: CommandContext): TrainFlags {
  positionals(ctx, 'train', 'none', 0);
  const data = stringFlag(ctx, 'train', 'data', true);
  const ann = stringFlag(ctx, 'train', 'ann', true);
  const arch = choiceFlag(ctx, 'train', 'arch', DETECTOR_ARCHS);
  if (arch === undefined) throw new UsageError('residual train: missing required flag --arch');
  return {
    data,
    ann,
    arch,
    backbone: choiceFlag(ctx, 'train', 'backbone', BACKBONES, 'resnet50'),
    minSize: numberFlag(ctx, 'train', 'min-size', 800, { integer: true, min: 1 }),
    maxSize: numberFlag(ctx, 'train', 'max-size', 1333, { integer: true, min: 1 }),
    epochs: numberFlag(ctx, 'train', 'epochs', 12, { integer: true, min: 1 }),
    batchSize: numberFlag(ctx, 'train', 'batch-size', 2, { integer: true, min: 1 }),
    lr: numberFlag(ctx, 'train', 'lr', 0.02, { min: 0 }),
    schedule: choiceFlag<TrainSchedule>(ctx, 'train', 'schedule', ['step', 'cosine', 'constant'], 'step'),
    out: stringFlag(ctx, 'train', 'out', true),
    resume: stringFlag(ctx, 'train', 'resume'),
  };
}

async function runTrain(ctx: CommandContext): Promise<void> {
  // Flags are checked first (exit 2), then the architecture's availability (exit 1).
  detectorBuilder(trainFlags(ctx).arch, 'train');
}

/** `residual train --data DIR --ann FILE --arch ... --out CKPT_DIR`: Faster/Mask R-CNN on a COCO folder. */
export const trainCommand: Command = {
  name: 'train',
  summary: 'train Faster/Mask R-CNN on a COCO folder, with checkpoints and resume',
  help: `Usage: residual train --data DIR --ann FILE --arch fasterrcnn|maskrcnn --out CKPT_DIR
                      [--backbone resnet50] [--min-size 800] [--max-size 1333] [--epochs 12]
                      [--batch-size 2] [--lr 0.02] [--schedule step|cosine|constant] [--resume CKPT_DIR]

Flags:
  --data DIR                    image folder of the COCO set
  --ann FILE                    COCO instances JSON (categories map to labels 1..K in id order)
  --arch fasterrcnn|maskrcnn    detector architecture
  --backbone NAME               ${BACKBONES.join(', ')} (default resnet50)
  --min-size N, --max-size N    resize rule of the model's transform (default 800, 1333)
  --epochs N, --batch-size N    (default 12, 2)
  --lr X, --schedule NAME       base learning rate and its schedule (default 0.02, step)
  --out DIR                     checkpoint folder (model + optimiser + scheduler + step + RNG state)
  --resume DIR                  continue bit-exactly from a checkpoint folder`,
  options: {
    data: { type: 'string' },
    ann: { type: 'string' },
    arch: { type: 'string' },
    backbone: { type: 'string' },
    'min-size': { type: 'string' },
    'max-size': { type: 'string' },
    epochs: { type: 'string' },
    'batch-size': { type: 'string' },
    lr: { type: 'string' },
    schedule: { type: 'string' },
    out: { type: 'string' },
    resume: { type: 'string' },
  },
  run: runTrain,
};
