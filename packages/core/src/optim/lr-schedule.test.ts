import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { fixturePath, loadFixture, useBackend } from '@residual/test-utils';
import {
  LRScheduler,
  SGD,
  ValueError,
  cosineAnnealingLR,
  linearWarmup,
  multiStepLR,
  oneCycleLR,
  stepLR,
  warmupCosine,
  warmupMultiStep,
} from '@residual/core';

// Reference: tools/fixtures/core_optim.py — torch 1.13 scheduler classes, lr at steps 0..29.
type Schedule = (step: number, options: never) => number;
const SCHEDULES: Record<string, Schedule> = {
  stepLR, multiStepLR, cosineAnnealingLR, linearWarmup, warmupCosine, oneCycleLR, warmupMultiStep,
} as unknown as Record<string, Schedule>;
let fixture: ReturnType<typeof loadFixture>;
let cases: Record<string, { fn: string; options: Record<string, unknown>; epochs?: number[]; lrs: number[] }>;

beforeAll(async () => {
  await useBackend();
  fixture = loadFixture(fixturePath(path.join(__dirname, '..', '..'), 'optim.safetensors'));
  cases = JSON.parse(fixture.metadata.cases);
});

afterAll(() => {
  tf.dispose([...fixture.tensors.values()]);
});

/** torch's lrs (exact float64, from the fixture's metadata) against the closed form. */
function expectFollowsTorch(name: string): void {
  const { fn, options, epochs, lrs: expected } = cases[`sched.${name}`];
  expect(expected.length).toBe(30);
  for (let i = 0; i < expected.length; i++) {
    const lr = SCHEDULES[fn](epochs ? epochs[i] : i, options as never);
    // Closed forms versus torch's recursive products differ only by float64 rounding.
    expect(Math.abs(lr - expected[i])).toBeLessThanOrEqual(1e-12 * Math.abs(expected[i]) + 1e-18);
  }
}

describe('LR schedules follow torch over 30 steps', () => {
  it('stepLR halves every 7 steps', () => expectFollowsTorch('step_lr'));
  it('multiStepLR decays by 0.1 at milestones 5, 12, 20', () => expectFollowsTorch('multi_step_lr'));
  it("cosineAnnealingLR's closed form equals torch's recursive form, past tMax too", () =>
    expectFollowsTorch('cosine_annealing_lr'));
  it('linearWarmup equals LinearLR (startFactor 0.001 over 10 iterations)', () => expectFollowsTorch('linear_warmup'));
  it('linearWarmup honours endFactor', () => expectFollowsTorch('linear_warmup_end'));
  it("oneCycleLR equals OneCycleLR's defaults with torch's phase boundaries", () => expectFollowsTorch('one_cycle_lr'));
  it('oneCycleLR with three phases and linear annealing', () =>
    expectFollowsTorch('one_cycle_lr_three_phase_linear'));
  it("warmupMultiStep equals the detection references' WarmupMultiStepLR", () =>
    expectFollowsTorch('warmup_multi_step'));
  it("warmupCosine equals MAE's adjust_learning_rate at fractional epochs", () => expectFollowsTorch('warmup_cosine'));
});

describe('schedule argument checks', () => {
  it('oneCycleLR refuses steps past totalSteps, as torch', () => {
    expect(oneCycleLR(30, { maxLr: 0.1, totalSteps: 30 })).toBeGreaterThan(0);
    expect(() => oneCycleLR(31, { maxLr: 0.1, totalSteps: 30 })).toThrow(
      new ValueError('oneCycleLR: step 31 is past totalSteps 30'),
    );
  });
  it('rejects degenerate periods', () => {
    expect(() => cosineAnnealingLR(0, { baseLr: 1, tMax: 0 })).toThrow(
      new ValueError('cosineAnnealingLR: tMax must be > 0, got 0'),
    );
    expect(() => stepLR(0, { baseLr: 1, stepSize: 0 })).toThrow(new ValueError('stepLR: stepSize must be > 0, got 0'));
    expect(() => warmupCosine(0, { baseLr: 1, warmupEpochs: 5, epochs: 5 })).toThrow(
      new ValueError('warmupCosine: epochs must exceed warmupEpochs (5), got 5'),
    );
  });
});

describe('LRScheduler', () => {
  function makeOptimizer(): { opt: SGD; params: tf.Variable[] } {
    const params = [tf.variable(tf.zeros([2])), tf.variable(tf.zeros([1]))];
    const opt = new SGD([{ params: [params[0]] }, { params: [params[1]], lr: 0.01 }], { lr: 0.1, momentum: 0.9 });
    return { opt, params };
  }
  const schedule = (step: number, baseLr: number): number => stepLR(step, { baseLr, stepSize: 2, gamma: 0.5 });

  it("sets step 0's lr on construction and each group's lr from its own base lr", () => {
    const { opt, params } = makeOptimizer();
    const scheduler = new LRScheduler(opt, schedule);
    expect(scheduler.lastStep).toBe(0);
    expect(scheduler.lastLr).toEqual([0.1, 0.01]);
    scheduler.step();
    scheduler.step();
    expect(scheduler.lastStep).toBe(2);
    expect(scheduler.lastLr).toEqual([0.05, 0.005]);
    expect(opt.paramGroups.map((g) => g.lr)).toEqual([0.05, 0.005]);
    opt.dispose();
    tf.dispose(params);
  });

  it('resumes from state() on a fresh optimizer', () => {
    const a = makeOptimizer();
    const first = new LRScheduler(a.opt, schedule);
    for (let i = 0; i < 5; i++) first.step();
    const saved = JSON.parse(JSON.stringify(first.state()));
    const b = makeOptimizer();
    b.opt.paramGroups[0].lr = 123; // the fresh optimizer's lr must not leak into the base lrs
    const second = new LRScheduler(b.opt, schedule);
    second.loadState(saved);
    expect(second.lastStep).toBe(5);
    expect(second.lastLr).toEqual(first.lastLr);
    second.step();
    first.step();
    expect(second.lastLr).toEqual(first.lastLr);
    expect(() => second.loadState({ lastStep: 0, baseLrs: [1] })).toThrow(
      new ValueError('LRScheduler.loadState: state has 1 base lrs, the optimizer has 2 groups'),
    );
    [a, b].forEach(({ opt, params }) => {
      opt.dispose();
      tf.dispose(params);
    });
  });
});
