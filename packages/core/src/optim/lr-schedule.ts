import { ValueError } from '../errors.js';

// Learning-rate schedules as pure functions of the step (torch's `last_epoch`: 0 before the first
// scheduler.step()). Each is the closed form of a torch 1.13 scheduler class; torch's recursive
// `get_lr` agrees with it to float64 rounding. Use them directly or through LRScheduler.

/** torch StepLR: baseLr · gamma^⌊step / stepSize⌋. gamma defaults to 0.1. */
export function stepLR(step: number, { baseLr, stepSize, gamma = 0.1 }: { baseLr: number; stepSize: number; gamma?: number }): number {
  if (!(stepSize > 0)) throw new ValueError(`stepLR: stepSize must be > 0, got ${stepSize}`);
  return baseLr * gamma ** Math.floor(step / stepSize);
}

/** torch MultiStepLR: baseLr · gamma^(number of milestones ≤ step). gamma defaults to 0.1. */
export function multiStepLR(
  step: number,
  { baseLr, milestones, gamma = 0.1 }: { baseLr: number; milestones: readonly number[]; gamma?: number },
): number {
  return baseLr * gamma ** milestones.filter((m) => m <= step).length;
}

/**
 * torch CosineAnnealingLR: etaMin + (baseLr − etaMin)·(1 + cos(π·step/tMax))/2 (etaMin default 0).
 * Past tMax it keeps following the cosine (rising again), as torch's recursive form does.
 */
export function cosineAnnealingLR(
  step: number,
  { baseLr, tMax, etaMin = 0 }: { baseLr: number; tMax: number; etaMin?: number },
): number {
  if (!(tMax > 0)) throw new ValueError(`cosineAnnealingLR: tMax must be > 0, got ${tMax}`);
  return etaMin + ((baseLr - etaMin) * (1 + Math.cos((Math.PI * step) / tMax))) / 2;
}

/**
 * torch LinearLR (linear warm-up): baseLr·(startFactor + (endFactor − startFactor)·min(step, totalIters)/totalIters).
 * Defaults as torch: startFactor 1/3, endFactor 1, totalIters 5.
 */
export function linearWarmup(
  step: number,
  { baseLr, startFactor = 1 / 3, endFactor = 1, totalIters = 5 }: { baseLr: number; startFactor?: number; endFactor?: number; totalIters?: number },
): number {
  if (!(startFactor > 0 && startFactor <= 1)) {
    throw new ValueError(`linearWarmup: startFactor must be in (0, 1], got ${startFactor}`);
  }
  if (!(endFactor >= 0 && endFactor <= 1)) throw new ValueError(`linearWarmup: endFactor must be in [0, 1], got ${endFactor}`);
  return baseLr * (startFactor + ((endFactor - startFactor) * Math.min(totalIters, step)) / totalIters);
}

/**
 * MAE's schedule (util/lr_sched.py adjust_learning_rate) of a possibly fractional epoch
 * (iteration / iterations per epoch + epoch): baseLr·epoch/warmupEpochs while epoch < warmupEpochs,
 * then minLr + (baseLr − minLr)·(1 + cos(π·(epoch − warmupEpochs)/(epochs − warmupEpochs)))/2.
 */
export function warmupCosine(
  epoch: number,
  { baseLr, minLr = 0, warmupEpochs, epochs }: { baseLr: number; minLr?: number; warmupEpochs: number; epochs: number },
): number {
  if (!(epochs > warmupEpochs)) {
    throw new ValueError(`warmupCosine: epochs must exceed warmupEpochs (${warmupEpochs}), got ${epochs}`);
  }
  if (epoch < warmupEpochs) return (baseLr * epoch) / warmupEpochs;
  return minLr + (baseLr - minLr) * 0.5 * (1 + Math.cos((Math.PI * (epoch - warmupEpochs)) / (epochs - warmupEpochs)));
}

/** Options of {@link oneCycleLR}; defaults are torch 1.13's OneCycleLR defaults. */
export interface OneCycleLROptions {
  maxLr: number;
  totalSteps: number;
  /** Default 0.3. */
  pctStart?: number;
  /** Default 'cos'. */
  annealStrategy?: 'cos' | 'linear';
  /** initial lr = maxLr / divFactor; default 25. */
  divFactor?: number;
  /** min lr = initial lr / finalDivFactor; default 1e4. */
  finalDivFactor?: number;
  /** Default false. */
  threePhase?: boolean;
}

/**
 * torch 1.13 OneCycleLR's learning rate at `step` (0 ≤ step ≤ totalSteps), with its exact
 * phase ends: pctStart·total − 1 (then 2·pctStart·total − 2 with threePhase) and total − 1.
 * Momentum cycling is not modelled here (LRScheduler sets only lr).
 */
export function oneCycleLR(
  step: number,
  { maxLr, totalSteps, pctStart = 0.3, annealStrategy = 'cos', divFactor = 25, finalDivFactor = 1e4, threePhase = false }: OneCycleLROptions,
): number {
  if (!(Number.isInteger(totalSteps) && totalSteps > 0)) {
    throw new ValueError(`oneCycleLR: totalSteps must be a positive integer, got ${totalSteps}`);
  }
  if (!(pctStart >= 0 && pctStart <= 1)) throw new ValueError(`oneCycleLR: pctStart must be in [0, 1], got ${pctStart}`);
  if (step > totalSteps) {
    throw new ValueError(`oneCycleLR: step ${step} is past totalSteps ${totalSteps}`);
  }
  const initialLr = maxLr / divFactor;
  const minLr = initialLr / finalDivFactor;
  const phases: Array<[end: number, start: number, to: number]> = threePhase
    ? [
        [pctStart * totalSteps - 1, initialLr, maxLr],
        [2 * pctStart * totalSteps - 2, maxLr, initialLr],
        [totalSteps - 1, initialLr, minLr],
      ]
    : [
        [pctStart * totalSteps - 1, initialLr, maxLr],
        [totalSteps - 1, maxLr, minLr],
      ];
  let startStep = 0;
  for (let i = 0; i < phases.length; i++) {
    const [endStep, from, to] = phases[i];
    if (step <= endStep || i === phases.length - 1) {
      const pct = (step - startStep) / (endStep - startStep);
      return annealStrategy === 'cos' ? to + ((from - to) / 2) * (Math.cos(Math.PI * pct) + 1) : (to - from) * pct + from;
    }
    startStep = endStep;
  }
  throw new Error('unreachable');
}

/**
 * WarmupMultiStepLR of the torchvision detection references / maskrcnn-benchmark: baseLr ·
 * warm-up factor · gamma^(milestones ≤ step). While step < warmupIters the factor is
 * warmupFactor·(1 − α) + α with α = step/warmupIters ('linear', default) or warmupFactor ('constant').
 * Defaults: gamma 0.1, warmupFactor 1/3, warmupIters 5.
 */
export function warmupMultiStep(
  step: number,
  {
    baseLr,
    milestones,
    gamma = 0.1,
    warmupFactor = 1 / 3,
    warmupIters = 5,
    warmupMethod = 'linear',
  }: {
    baseLr: number;
    milestones: readonly number[];
    gamma?: number;
    warmupFactor?: number;
    warmupIters?: number;
    warmupMethod?: 'linear' | 'constant';
  },
): number {
  let factor = 1;
  if (step < warmupIters) {
    const alpha = step / warmupIters;
    factor = warmupMethod === 'constant' ? warmupFactor : warmupFactor * (1 - alpha) + alpha;
  }
  return baseLr * factor * gamma ** milestones.filter((m) => m <= step).length;
}
