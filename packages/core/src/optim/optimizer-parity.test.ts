import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { expectAllClose, expectNoLeak, fixturePath, loadFixture, maxAbsDiff, useBackend } from '@residual/test-utils';
import { Adam, AdamW, SGD, type Optimizer } from '@residual/core';

// Reference: tools/fixtures/core_optim.py — torch 1.13 optimisers fed a stored gradient sequence.
let fixture: ReturnType<typeof loadFixture>;
let cases: Record<string, { groups: Array<Record<string, unknown>>; defaults: Record<string, unknown> }>;
const NUM_PARAMS = 3;
const STEPS = 20;
const worst: Record<string, number> = {};

const tensor = (key: string): tf.Tensor => {
  const t = fixture.tensors.get(key);
  if (t === undefined) throw new Error(`fixture has no ${key}`);
  return t;
};

function makeParams(): tf.Variable[] {
  return Array.from({ length: NUM_PARAMS }, (_, i) => tf.variable(tensor(`params.${i}`).clone()));
}

/** Group 0 holds params 0 and 1, group 1 holds param 2, with the case's per-group overrides. */
function build(name: string, params: tf.Variable[]): Optimizer<{ lr: number }> {
  const { groups, defaults } = cases[name];
  const g = [
    { params: params.slice(0, 2), ...groups[0] },
    { params: new Map([['head.weight', params[2]]]), ...groups[1] },
  ];
  if (name.startsWith('sgd')) return new SGD(g, defaults as { lr: number }) as unknown as Optimizer<{ lr: number }>;
  if (name.startsWith('adamw')) return new AdamW(g, defaults) as unknown as Optimizer<{ lr: number }>;
  return new Adam(g, defaults) as unknown as Optimizer<{ lr: number }>;
}

/** The stored gradients of step `s`, keyed by Variable.name as tf.variableGrads returns them. */
function gradsAt(s: number, params: tf.Variable[]): tf.NamedTensorMap {
  return Object.fromEntries(
    params.map((p, i) => {
      const all = tensor(`grads.${i}`);
      return [p.name, tf.squeeze(tf.slice(all, [s], [1]), [0])];
    }),
  );
}

function runSteps(opt: Optimizer<{ lr: number }>, params: tf.Variable[], from: number, to: number, check?: string): void {
  for (let s = from; s < to; s++) {
    const grads = gradsAt(s, params);
    opt.step(grads);
    tf.dispose(Object.values(grads));
    if (check === undefined) continue;
    params.forEach((p, i) => {
      const expected = tf.squeeze(tf.slice(tensor(`${check}.params.${i}`), [s], [1]), [0]);
      // 1e-6 absolute on parameters of magnitude ~1: torch's CPU kernels fuse a·x + y (FMA) where
      // tfjs rounds twice, so a few float32 ulps per step are expected; nothing more.
      expectAllClose(p, expected, { rtol: 0, atol: 1e-6 });
      worst[check] = Math.max(worst[check] ?? 0, maxAbsDiff(p, expected));
      expected.dispose();
    });
  }
}

beforeAll(async () => {
  await useBackend();
  fixture = loadFixture(fixturePath(path.join(__dirname, '..', '..'), 'optim.safetensors'));
  cases = JSON.parse(fixture.metadata.cases);
});

afterAll(() => {
  tf.dispose([...fixture.tensors.values()]);
});

describe.each([
  ['sgd_momentum', 'SGD with momentum 0.9, weight decay 1e-4 and a group with its own lr'],
  ['sgd_nesterov', 'SGD with Nesterov momentum and a group without weight decay'],
  ['sgd_dampening', 'SGD with dampening 0.5 and a group with momentum 0.5'],
  ['sgd_plain_maximize', 'SGD without momentum, maximizing'],
  ['adamw_mae', "AdamW as MAE's (betas 0.9/0.95, wd 0.05, a no-decay group)"],
  ['adamw_amsgrad', 'AdamW with amsgrad and a group with its own lr'],
  ['adam_l2', 'Adam with L2 weight decay and a group without it'],
])('%s', (name, description) => {
  it(`follows torch for ${STEPS} steps: ${description}`, () => {
    const params = makeParams();
    const opt = build(name, params);
    runSteps(opt, params, 0, STEPS, name);
    const state = opt.state();
    for (let i = 0; i < NUM_PARAMS; i++) {
      expect(state.state[i].step).toBe(STEPS);
      const torchBuffers = [...fixture.tensors.keys()].filter((k) => k.startsWith(`${name}.state.${i}.`));
      expect(Object.keys(state.state[i].buffers).sort()).toEqual(torchBuffers.map((k) => k.split('.').pop()).sort());
      for (const key of torchBuffers) {
        expectAllClose(state.state[i].buffers[key.split('.').pop()!], tensor(key), { rtol: 1e-5, atol: 1e-7 });
      }
    }
    tf.dispose(Object.values(state.state).flatMap((s) => Object.values(s.buffers)));
    opt.dispose();
    tf.dispose(params);
  });

  it('resumes bit-exactly from state() / loadState() after 10 steps', () => {
    const straight = makeParams();
    const reference = build(name, straight);
    runSteps(reference, straight, 0, STEPS);

    const first = makeParams();
    const before = build(name, first);
    runSteps(before, first, 0, 10);
    const saved = before.state();
    const resumedParams = first.map((p) => tf.variable(p.clone()));
    const resumed = build(name, resumedParams);
    // Groups and step counts are plain JSON (a checkpoint stores them as metadata).
    expect(JSON.parse(JSON.stringify(saved.paramGroups))).toEqual(saved.paramGroups);
    resumed.loadState(saved);
    tf.dispose(Object.values(saved.state).flatMap((s) => Object.values(s.buffers)));
    runSteps(resumed, resumedParams, 10, STEPS);
    resumedParams.forEach((p, i) => expect(p.dataSync()).toEqual(straight[i].dataSync()));

    [reference, before, resumed].forEach((o) => o.dispose());
    tf.dispose([...straight, ...first, ...resumedParams]);
  });

  it('frees every intermediate: steps after the first allocate nothing', async () => {
    const params = makeParams();
    const opt = build(name, params);
    runSteps(opt, params, 0, 1);
    const grads = gradsAt(1, params);
    await expectNoLeak(() => {
      for (let k = 0; k < 3; k++) opt.step(grads);
    });
    tf.dispose(Object.values(grads));
    // dispose() frees exactly the state buffers (torch's buffers for each of the 3 parameters).
    const numBuffers = [...fixture.tensors.keys()].filter((k) => k.startsWith(`${name}.state.`)).length;
    const numTensors = tf.memory().numTensors;
    opt.dispose();
    expect(tf.memory().numTensors).toBe(numTensors - numBuffers);
    tf.dispose(params);
  });
});

describe('optimizer parity summary', () => {
  it('stays within 1e-6 of torch after 20 steps for every case', () => {
    expect(Object.keys(worst)).toHaveLength(7);
    for (const value of Object.values(worst)) expect(value).toBeLessThanOrEqual(1e-6);
    if (process.env.RESIDUAL_REPORT) process.stdout.write(`optim max abs diff: ${JSON.stringify(worst)}\n`);
  });
});
