import type { ResNetName } from '@residual/resnet';
import { BACKBONES, DETECTOR_ARCHS } from './arch-table.js';
import type { Command, CommandContext } from './command.js';
import { UsageError } from './command.js';
import type { EpochSchedule } from './detection-schedule.js';
import { DETECTOR_MODEL_HELP, DETECTOR_MODEL_OPTIONS, detectorModelOptions } from './detector-options.js';
import { choiceFlag, numberFlag, positionals, stringFlag } from './flag-values.js';
import type { ProgressReporter } from './progress.js';
import { trainDetector, type TrainOptions } from './train-loop.js';

function milestonesFlag(ctx: CommandContext): number[] {
  const text = stringFlag(ctx, 'train', 'lr-steps') ?? '16,22';
  const steps = text.split(',').map((s) => Number(s.trim()));
  if (!steps.every((s) => Number.isInteger(s) && s >= 0) || text.trim() === '') {
    throw new UsageError(`residual train: --lr-steps must be comma-separated epochs (integers ≥ 0), got ${JSON.stringify(text)}`);
  }
  return steps;
}

/** Reads and checks the flags of `residual train` (UsageError, exit 2, for anything wrong). */
export function trainFlags(ctx: CommandContext): TrainOptions {
  positionals(ctx, 'train', 'none', 0);
  const data = stringFlag(ctx, 'train', 'data', true);
  const ann = stringFlag(ctx, 'train', 'ann', true);
  const arch = choiceFlag(ctx, 'train', 'arch', DETECTOR_ARCHS);
  if (arch === undefined) throw new UsageError('residual train: missing required flag --arch');
  const out = stringFlag(ctx, 'train', 'out', true);
  const weights = stringFlag(ctx, 'train', 'weights');
  const resume = stringFlag(ctx, 'train', 'resume');
  if (weights !== undefined && resume !== undefined) throw new UsageError('residual train: --weights and --resume both set the starting weights; give one');
  const int = (name: string, fallback: number, min = 1): number => numberFlag(ctx, 'train', name, fallback, { integer: true, min });
  const warmupIters = ctx.values['warmup-iters'] === undefined ? undefined : int('warmup-iters', 0, 0);
  return {
    data,
    ann,
    arch,
    backbone: choiceFlag<ResNetName>(ctx, 'train', 'backbone', BACKBONES, 'resnet50'),
    model: {
      ...detectorModelOptions(ctx, 'train'),
      trainableBackboneLayers: int('trainable-backbone-layers', 3, 0),
      rpnBatchSizePerImage: int('rpn-batch-size-per-image', 256),
      boxBatchSizePerImage: int('box-batch-size-per-image', 512),
    },
    weights,
    epochs: int('epochs', 26),
    batchSize: int('batch-size', 2),
    lr: numberFlag(ctx, 'train', 'lr', 0.02, { min: 0 }),
    momentum: numberFlag(ctx, 'train', 'momentum', 0.9, { min: 0 }),
    weightDecay: numberFlag(ctx, 'train', 'weight-decay', 1e-4, { min: 0 }),
    schedule: {
      schedule: choiceFlag<EpochSchedule>(ctx, 'train', 'schedule', ['multistep', 'cosine'], 'multistep'),
      milestones: milestonesFlag(ctx),
      gamma: numberFlag(ctx, 'train', 'lr-gamma', 0.1, { min: 0 }),
      warmupFactor: 1 / 1000,
      warmupIters,
    },
    out,
    resume,
    evalEvery: int('eval-every', 0, 0),
    noEval: ctx.values['no-eval'] === true,
    seed: int('seed', 0, 0),
  };
}

function formatLosses(losses: Record<string, number>): string {
  return Object.entries(losses).map(([k, v]) => `${k.replace(/^loss_/, '')} ${v.toFixed(4)}`).join(' ');
}

async function runTrain(ctx: CommandContext): Promise<void> {
  const options = trainFlags(ctx);
  await ctx.initBackend();
  let progress: ProgressReporter | undefined;
  const report = await trainDetector(options, {
    startEpoch: (epoch, iterations) => {
      progress = ctx.progress(`epoch ${epoch}/${options.epochs}`, iterations);
    },
    iteration: (r) => progress?.tick(`loss ${r.loss.toFixed(4)} (${formatLosses(r.losses)}) lr ${r.lr.toExponential(2)}`),
    endEpoch: (epoch, checkpoint) => {
      progress?.done();
      ctx.note(`epoch ${epoch}: checkpoint ${checkpoint}`);
    },
    evaluated: (epoch, e) => {
      const segm = e.segm ? `, segm AP ${e.segm.AP.toFixed(4)} AP50 ${e.segm.AP50.toFixed(4)}` : '';
      ctx.note(`epoch ${epoch}: bbox AP ${e.bbox.AP.toFixed(4)} AP50 ${e.bbox.AP50.toFixed(4)}${segm} (${e.detections} detections)`);
    },
    note: (line) => ctx.note(line),
  }).finally(() => progress?.done());
  if (ctx.common.json) {
    ctx.printJson(report);
    return;
  }
  ctx.print(`checkpoint: ${report.checkpoint ?? 'none'}`);
  const e = report.evaluation;
  if (e) {
    ctx.print(`bbox AP ${e.bbox.AP.toFixed(4)} AP50 ${e.bbox.AP50.toFixed(4)}`);
    if (e.segm) ctx.print(`segm AP ${e.segm.AP.toFixed(4)} AP50 ${e.segm.AP50.toFixed(4)}`);
  }
}

/** `residual train --data DIR --ann FILE --arch ... --out CKPT_DIR`: Faster/Mask R-CNN on a COCO folder. */
export const trainCommand: Command = {
  name: 'train',
  summary: 'train Faster/Mask R-CNN on a COCO folder, with checkpoints and resume',
  help: `Usage: residual train --data DIR --ann FILE --arch fasterrcnn|maskrcnn --out CKPT_DIR
                      [--backbone resnet50] [--weights FILE] [--epochs 26] [--batch-size 2]
                      [--lr 0.02] [--momentum 0.9] [--weight-decay 1e-4]
                      [--schedule multistep|cosine] [--lr-steps 16,22] [--lr-gamma 0.1]
                      [--warmup-iters N] [--resume CKPT_DIR] [--eval-every N] [--no-eval]
                      [--seed 0] [model flags]

torchvision's detection reference recipe (references/detection/train.py): SGD on the trainable
parameters, a linear warm-up from lr/1000 then a per-epoch multistep or cosine schedule, shuffled
batches with random horizontal flips. One seeded generator drives initialisation, shuffling,
flips and sampling. After every epoch a checkpoint (model.safetensors in torchvision keys,
optimizer.safetensors, state.json) is written to CKPT_DIR/epoch-NNNN and CKPT_DIR/latest points
to it; --resume continues bit for bit. A NaN or infinite loss stops the run, keeping the last
good checkpoint. At the end the model is evaluated on the --ann images (COCO AP, AP50).

Flags:
  --data DIR                    image folder of the COCO set
  --ann FILE                    COCO instances JSON (categories map to labels 1..K in id order)
  --arch fasterrcnn|maskrcnn    detector architecture
  --backbone NAME               ${BACKBONES.join(', ')} (default resnet50)
  --weights FILE                initial weights: a detector state dict (predictors of another class
                                count keep their init) or ResNet ImageNet weights for the backbone
  --epochs N, --batch-size N    (default 26, 2)
  --lr X                        base learning rate (default 0.02)
  --momentum X, --weight-decay X  SGD (default 0.9, 1e-4)
  --schedule multistep|cosine   per-epoch schedule (default multistep)
  --lr-steps E1,E2,...          multistep milestones in epochs (default 16,22)
  --lr-gamma X                  multistep factor (default 0.1)
  --warmup-iters N              linear warm-up iterations (default min(1000, iterations per epoch − 1))
  --out DIR                     checkpoint folder
  --resume DIR                  continue from a checkpoint folder (its latest epoch)
  --eval-every N                also evaluate after every N-th epoch (default 0: only at the end)
  --no-eval                     skip the evaluation
  --seed S                      seed of the run's generator (default 0)
  --trainable-backbone-layers N ResNet stages trained, counted from layer4 (default 3)
  --rpn-batch-size-per-image N  anchors sampled per image for the RPN losses (default 256)
  --box-batch-size-per-image N  proposals sampled per image for the box losses (default 512)
${DETECTOR_MODEL_HELP}`,
  options: {
    data: { type: 'string' },
    ann: { type: 'string' },
    arch: { type: 'string' },
    backbone: { type: 'string' },
    weights: { type: 'string' },
    epochs: { type: 'string' },
    'batch-size': { type: 'string' },
    lr: { type: 'string' },
    momentum: { type: 'string' },
    'weight-decay': { type: 'string' },
    schedule: { type: 'string' },
    'lr-steps': { type: 'string' },
    'lr-gamma': { type: 'string' },
    'warmup-iters': { type: 'string' },
    out: { type: 'string' },
    resume: { type: 'string' },
    'eval-every': { type: 'string' },
    'no-eval': { type: 'boolean', default: false },
    seed: { type: 'string' },
    'trainable-backbone-layers': { type: 'string' },
    'rpn-batch-size-per-image': { type: 'string' },
    'box-batch-size-per-image': { type: 'string' },
    ...DETECTOR_MODEL_OPTIONS,
  },
  run: runTrain,
};
