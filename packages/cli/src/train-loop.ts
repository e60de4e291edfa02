import * as tf from '@tensorflow/tfjs-core';
import { Generator, LRScheduler, SGD, StateDictError, ValueError, type StateDict } from '@residual/core';
import { CocoDataset, DataLoader, disposeSample, randomHorizontalFlip, type Sample } from '@residual/data';
import { trainStep, type GeneralizedRCNN, type LossName } from '@residual/faster-rcnn';
import type { ResNetName } from '@residual/resnet';
import { DETECTORS, type DetectorArch, type DetectorBuildOptions } from './arch-table.js';
import { latestCheckpoint, loadCheckpoint, nonFiniteEntry, saveCheckpoint, type TrainState } from './checkpoint.js';
import { detectionSchedule, type DetectionScheduleOptions } from './detection-schedule.js';
import { evaluateDetector, type DetectorEvaluation } from './evaluate-detector.js';
import { loadWeights } from './load-weights.js';

/** Everything `residual train` was asked to do (validated flags). */
export interface TrainOptions {
  data: string;
  ann: string;
  arch: DetectorArch;
  backbone: ResNetName;
  /** Transform, sampling and inference options of the detector (numClasses comes from --ann). */
  model: Omit<DetectorBuildOptions, 'numClasses' | 'generator' | 'weightsBackbone'>;
  /** Initial weights: a detector state dict (predictors of another class count are skipped) or ResNet ImageNet weights. */
  weights?: string;
  epochs: number;
  batchSize: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  schedule: Pick<DetectionScheduleOptions, 'schedule' | 'milestones' | 'gamma' | 'warmupFactor'> & { warmupIters?: number };
  out: string;
  resume?: string;
  /** Evaluate after every N-th epoch (0: only after the last). */
  evalEvery: number;
  /** Skip evaluation altogether. */
  noEval: boolean;
  seed: number;
}

/** One optimizer step as reported. */
export interface IterationRecord {
  /** 1-based epoch. */
  epoch: number;
  /** 1-based global iteration (optimizer step). */
  iteration: number;
  /** The lr of the step. */
  lr: number;
  losses: Partial<Record<LossName, number>>;
  /** Sum of the losses (what was minimised). */
  loss: number;
}

/** How the loop talks to the CLI (it never prints itself). */
export interface TrainHooks {
  startEpoch(epoch: number, iterations: number): void;
  iteration(record: IterationRecord): void;
  endEpoch(epoch: number, checkpoint: string): void;
  evaluated(epoch: number, evaluation: DetectorEvaluation): void;
  note(line: string): void;
}

/** What a finished run reports. */
export interface TrainReport {
  iterations: IterationRecord[];
  checkpoint: string | null;
  evaluation: DetectorEvaluation | null;
}

/** The loss or the weights became NaN or infinite: training stopped, the last good checkpoint is kept. */
export class DivergenceError extends ValueError {
  constructor(message: string) {
    super(message);
    this.name = 'DivergenceError';
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

function isDetectorDict(dict: Map<string, tf.Tensor>): boolean {
  return dict.has('backbone.body.conv1.weight');
}

/** Loads fine-tuning weights into `model`: entries whose shape differs (another class count) keep their init. */
function loadDetectorInit(model: GeneralizedRCNN, dict: Map<string, tf.Tensor>, file: string, note: (line: string) => void): void {
  const own = model.stateDict();
  const kept = new Map<string, tf.Tensor>();
  const skipped: string[] = [];
  for (const [key, t] of dict) {
    const mine = own.get(key);
    if (mine !== undefined && !tf.util.arraysEqual(mine.shape, t.shape)) skipped.push(key);
    else kept.set(key, t);
  }
  tf.dispose([...own.values()]);
  const { missingKeys } = model.loadStateDict(kept, { strict: false });
  const fresh = missingKeys.filter((k) => !skipped.includes(k));
  if (fresh.length > 0) throw new StateDictError(`--weights ${file} lacks ${fresh.length} entries of the ${'model'}, e.g. ${fresh.slice(0, 3).join(', ')}`);
  if (skipped.length > 0) note(`--weights: ${skipped.length} entries of another shape keep their fresh init (${skipped.join(', ')})`);
}

function buildModel(o: TrainOptions, numClasses: number, generator: Generator, backboneWeights?: StateDict): GeneralizedRCNN {
  return DETECTORS[o.arch](o.backbone, { ...o.model, numClasses, generator, weightsBackbone: backboneWeights });
}

/** Builds the model of a fresh run, with `--weights` when given. */
async function freshModel(o: TrainOptions, numClasses: number, generator: Generator, note: (line: string) => void): Promise<GeneralizedRCNN> {
  if (o.weights === undefined) return buildModel(o, numClasses, generator);
  const { tensors } = await loadWeights(o.weights, '--weights');
  try {
    if (!isDetectorDict(tensors)) {
      if (!tensors.has('conv1.weight')) throw new StateDictError(`--weights ${o.weights} is neither a detector nor a ResNet state dict (no backbone.body.conv1.weight or conv1.weight)`);
      return buildModel(o, numClasses, generator, tensors);
    }
    const model = buildModel(o, numClasses, generator);
    try {
      loadDetectorInit(model, tensors, o.weights, note);
    } catch (e) {
      model.dispose();
      throw e;
    }
    return model;
  } finally {
    tf.dispose([...tensors.values()]);
  }
}

/** The detection targets of a batch, with the masks when `masks` (Mask R-CNN). Borrowed from the samples. */
export function targetsOf(batch: Sample[], masks: boolean): Array<{ boxes: tf.Tensor2D; labels: tf.Tensor1D; masks?: tf.Tensor3D }> {
  return batch.map(({ target }) => ({ boxes: target.boxes, labels: target.labels, ...(masks ? { masks: target.masks } : {}) }));
}

/**
 * torchvision's detection reference loop on a COCO folder: SGD (momentum, weight decay) on the
 * trainable parameters, the warm-up + multistep/cosine schedule of {@link detectionSchedule} stepped
 * every iteration, a seeded DataLoader (shuffled each epoch) and random horizontal flips (p = 0.5).
 * Training leaves out the images without a box wider and higher than 1 pixel, as torchvision's
 * reference does (`hooks.note` says how many); the evaluation uses every image.
 * One {@link Generator} seeded with `seed` drives the initialisation, the shuffles, the flips and the
 * samplers, and its state is checkpointed, so `resume` continues bit for bit. A checkpoint is written
 * after every epoch ({@link saveCheckpoint}); a NaN/Inf loss, or NaN/Inf weights at the end of an
 * epoch, stop with a {@link DivergenceError} that names the last good checkpoint. Ends with a COCO
 * evaluation on the training annotations.
 */
export async function trainDetector(o: TrainOptions, hooks: TrainHooks): Promise<TrainReport> {
  const withMasks = o.arch === 'maskrcnn';
  // Training leaves out images without a usable box (torchvision's reference:
  // _coco_remove_images_without_annotations); evaluation keeps every image. One parsed JSON for both.
  const everyImage = await CocoDataset.load(o.ann, o.data, { masks: withMasks });
  const dataset = new CocoDataset(everyImage.json, o.data, o.ann, { masks: withMasks, removeImagesWithoutAnnotations: true });
  if (dataset.length === 0) {
    throw new ValueError(`--ann ${o.ann}: none of its ${everyImage.length} images has a box wider and higher than 1 pixel; nothing to train on`);
  }
  const resumeFrom = o.resume === undefined ? undefined : await loadCheckpoint(o.resume);
  if (resumeFrom === undefined && (await latestCheckpoint(o.out)) !== undefined) {
    throw new ValueError(`--out ${o.out} already holds a checkpoint; continue it with --resume ${o.out} or choose another --out`);
  }
  const generator = new Generator(o.seed);
  const model = resumeFrom ? buildModel(o, dataset.numClasses, generator) : await freshModel(o, dataset.numClasses, generator, hooks.note);
  const sgd = new SGD(model.trainableParameters(), { lr: o.lr, momentum: o.momentum, weightDecay: o.weightDecay });
  const loader = new DataLoader(dataset, { batchSize: o.batchSize, shuffle: true, generator, prefetch: 1 });
  const itersPerEpoch = loader.length;
  const warmupIters = o.schedule.warmupIters ?? Math.min(1000, itersPerEpoch - 1);
  const scheduler = new LRScheduler(sgd, detectionSchedule({ ...o.schedule, warmupIters, itersPerEpoch, epochs: o.epochs }));
  const flip = randomHorizontalFlip(0.5, generator);
  const state: TrainState = {
    format: 'residual-train-checkpoint', version: 1, epoch: 0, iteration: 0, arch: o.arch, backbone: o.backbone,
    numClasses: dataset.numClasses, categories: dataset.categories.map(({ id, name }) => ({ id, name })),
    optimizer: { paramGroups: [], steps: {} }, scheduler: scheduler.state(), generator: generator.state(),
  };
  const report: TrainReport = { iterations: [], checkpoint: null, evaluation: null };
  const lastGood = (): string =>
    report.checkpoint ? `the last good checkpoint is ${report.checkpoint} (continue with --resume and a lower --lr)` : 'no checkpoint was written';
  const skipped = everyImage.length - dataset.length;
  if (skipped > 0) {
    hooks.note(
      `training skips ${skipped} of ${everyImage.length} images that have no box wider and higher than 1 pixel ` +
        `(as torchvision's reference); evaluation uses all ${everyImage.length}`,
    );
  }
  try {
    if (resumeFrom) {
      const saved = resumeFrom.state;
      try {
        if (saved.arch !== o.arch || saved.backbone !== o.backbone || saved.numClasses !== dataset.numClasses) {
          throw new ValueError(
            `--resume ${o.resume}: the checkpoint is a ${saved.arch} on ${saved.backbone} with ${saved.numClasses} classes, ` +
              `this run a ${o.arch} on ${o.backbone} with ${dataset.numClasses}`,
          );
        }
        model.loadStateDict(resumeFrom.model);
        sgd.loadState(resumeFrom.optimizer);
      } finally {
        tf.dispose([...resumeFrom.model.values(), ...Object.values(resumeFrom.optimizer.state).flatMap((s) => Object.values(s.buffers))]);
      }
      scheduler.loadState(saved.scheduler);
      generator.setState(saved.generator);
      Object.assign(state, { epoch: saved.epoch, iteration: saved.iteration });
      report.checkpoint = resumeFrom.dir;
      hooks.note(`resuming from ${resumeFrom.dir} (epoch ${saved.epoch}, iteration ${saved.iteration})`);
    }
    model.train();
    for (let epoch = state.epoch + 1; epoch <= o.epochs; epoch++) {
      hooks.startEpoch(epoch, itersPerEpoch);
      for await (const loaded of loader) {
        const batch = loaded.map((s) => flip(s));
        loaded.forEach(disposeSample);
        const lr = sgd.paramGroups[0].lr;
        let losses: Partial<Record<LossName, number>>;
        try {
          losses = trainStep(model, sgd, batch.map((s) => s.image), targetsOf(batch, withMasks));
        } finally {
          batch.forEach(disposeSample);
        }
        state.iteration++;
        const values = Object.values(losses) as number[];
        const loss = values.reduce((a, b) => a + b, 0);
        const record: IterationRecord = { epoch, iteration: state.iteration, lr, losses, loss };
        if (!Number.isFinite(loss)) {
          const terms = Object.entries(losses).map(([k, v]) => `${k} ${v}`).join(', ');
          throw new DivergenceError(`loss is ${loss} at epoch ${epoch}, iteration ${state.iteration} (${terms}); training stopped, ${lastGood()}`);
        }
        report.iterations.push(record);
        hooks.iteration(record);
        scheduler.step();
      }
      Object.assign(state, { epoch, scheduler: scheduler.state(), generator: generator.state() });
      const dict = model.stateDict();
      const optimizerState = sgd.state();
      try {
        // The last step can leave NaN/±Infinity weights behind a finite loss: saveCheckpoint would refuse them.
        const diverged = nonFiniteEntry(dict, optimizerState);
        if (diverged !== undefined) {
          throw new DivergenceError(`weights are not finite after epoch ${epoch}, iteration ${state.iteration} (${diverged}); training stopped, ${lastGood()}`);
        }
        report.checkpoint = await saveCheckpoint(o.out, state, dict, optimizerState);
      } finally {
        tf.dispose([...dict.values(), ...Object.values(optimizerState.state).flatMap((s) => Object.values(s.buffers))]);
      }
      hooks.endEpoch(epoch, report.checkpoint);
      const evaluate = !o.noEval && (epoch === o.epochs || (o.evalEvery > 0 && epoch % o.evalEvery === 0));
      if (evaluate) {
        report.evaluation = await evaluateDetector(model, everyImage);
        hooks.evaluated(epoch, report.evaluation);
        model.train();
      }
    }
    return report;
  } finally {
    sgd.dispose();
    model.dispose();
  }
}
