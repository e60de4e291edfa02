import * as fs from 'node:fs';
import * as path from 'node:path';
import { ValueError } from '@residual/core';
import { detectionSchedule } from './detection-schedule.js';

// torchvision 0.14's detection recipe as torch steps it (tools/fixtures/cli_schedule.py): LinearLR warm-up
// over min(1000, iters − 1) iterations of epoch 0, times MultiStepLR / CosineAnnealingLR stepped per epoch.
const lrs = JSON.parse(fs.readFileSync(path.join(__dirname, '../test/fixtures/schedule/lrs.json'), 'utf8')) as Record<string, number[]>;

function lrsOf(schedule: 'multistep' | 'cosine', epochs: number, iters: number, milestones: number[]): number[] {
  const f = detectionSchedule({ schedule, epochs, itersPerEpoch: iters, milestones, gamma: 0.1, warmupIters: Math.min(1000, iters - 1), warmupFactor: 1 / 1000 });
  return Array.from({ length: epochs * iters }, (_, step) => f(step, 0.02, 0));
}

// torch chains the schedulers multiplicatively step by step; the closed form rounds differently in the last bits.
function expectRelClose(actual: number[], expected: number[]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => expect({ i, rel: Math.abs(a - expected[i]) / expected[i] < 1e-12 }).toEqual({ i, rel: true }));
}

describe('detectionSchedule', () => {
  it('gives torch\'s lrs for warm-up + MultiStepLR', () => {
    expectRelClose(lrsOf('multistep', 5, 4, [2, 4]), lrs.multistep_e5_i4_m2_4);
  });

  it('gives torch\'s lrs for warm-up + CosineAnnealingLR(T_max = epochs)', () => {
    expectRelClose(lrsOf('cosine', 4, 3, []), lrs.cosine_e4_i3);
  });

  it('rejects a non-positive iteration count', () => {
    expect(() => detectionSchedule({ schedule: 'cosine', epochs: 1, itersPerEpoch: 0, milestones: [], gamma: 0.1, warmupIters: 0, warmupFactor: 0.001 })).toThrow(
      new ValueError('detectionSchedule: itersPerEpoch must be a positive integer, got 0'),
    );
  });
});
