import type { LrSchedule } from '@residual/core';
import { ValueError } from '@residual/core';

/** Epoch schedules of `residual train` (torchvision's `--lr-scheduler multisteplr | cosineannealinglr`). */
export type EpochSchedule = 'multistep' | 'cosine';

/** The learning-rate recipe of torchvision's detection reference (references/detection/train.py). */
export interface DetectionScheduleOptions {
  schedule: EpochSchedule;
  /** Iterations (optimizer steps) per epoch. */
  itersPerEpoch: number;
  /** Epochs of the run (cosine's T_max). */
  epochs: number;
  /** multistep: epochs at which the lr is multiplied by `gamma` (torchvision default [16, 22]). */
  milestones: readonly number[];
  /** Default 0.1. */
  gamma: number;
  /** Linear warm-up length in iterations (torchvision: min(1000, itersPerEpoch − 1)); 0 disables it. */
  warmupIters: number;
  /** Warm-up start factor (torchvision: 1/1000). */
  warmupFactor: number;
}

/**
 * torchvision's detection recipe as one {@link LrSchedule} of the global iteration `step`:
 * lr = baseLr · warm-up(step) · epochFactor(⌊step / itersPerEpoch⌋), where the warm-up is torch's
 * LinearLR (start `warmupFactor`, end 1, over `warmupIters` iterations, stepped every iteration of
 * the first epoch) and the epoch factor is MultiStepLR (gamma^(milestones ≤ epoch)) or
 * CosineAnnealingLR ((1 + cos(π·epoch/epochs))/2), both stepped once per epoch. torch chains the two
 * multiplicatively, as here. Unlike the reference, whose warm-up lives only in epoch 0, a warm-up
 * longer than an epoch continues into the next epochs. A pure function of the step, so resuming
 * from a checkpoint's step gives the same lrs.
 */
export function detectionSchedule(o: DetectionScheduleOptions): LrSchedule {
  if (!(Number.isInteger(o.itersPerEpoch) && o.itersPerEpoch >= 1)) {
    throw new ValueError(`detectionSchedule: itersPerEpoch must be a positive integer, got ${o.itersPerEpoch}`);
  }
  const { cos, PI, min } = Math;
  return (step, baseLr) => {
    const epoch = Math.floor(step / o.itersPerEpoch);
    const warmup = o.warmupIters > 0 ? o.warmupFactor + ((1 - o.warmupFactor) * min(step, o.warmupIters)) / o.warmupIters : 1;
    const epochFactor = o.schedule === 'cosine'
      ? (1 + cos((PI * epoch) / o.epochs)) / 2
      : o.gamma ** o.milestones.filter((m) => m <= epoch).length;
    return baseLr * warmup * epochFactor;
  };
}
