import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '@residual/test-utils';
import { AdamW, SGD, ShapeError, ValueError } from '@residual/core';

beforeAll(async () => {
  await useBackend();
});

describe('optimizer construction', () => {
  it('merges defaults under per-group options, as torch', () => {
    const a = tf.variable(tf.zeros([2]));
    const b = tf.variable(tf.zeros([2]));
    const opt = new AdamW([{ params: [a] }, { params: new Map([['bias', b]]), weightDecay: 0, lr: 0.5 }], {
      lr: 1e-3,
      betas: [0.9, 0.95],
      weightDecay: 0.05,
    });
    const [g0, g1] = opt.paramGroups;
    expect([g0.lr, g0.weightDecay, g0.betas, g0.eps]).toEqual([1e-3, 0.05, [0.9, 0.95], 1e-8]);
    expect([g1.lr, g1.weightDecay, g1.names]).toEqual([0.5, 0, ['bias']]);
    tf.dispose([a, b]);
  });

  it('accepts a bare list of variables as one group', () => {
    const a = tf.variable(tf.zeros([1]));
    const opt = new SGD([a], { lr: 0.1 });
    expect(opt.paramGroups).toHaveLength(1);
    expect(opt.paramGroups[0].params).toEqual([a]);
    a.dispose();
  });

  it('rejects an empty parameter list, shared parameters and torch-invalid hyper-parameters', () => {
    const a = tf.variable(tf.zeros([1]));
    expect(() => new SGD([], { lr: 0.1 })).toThrow(new ValueError('SGD: got an empty parameter list'));
    expect(() => new SGD([{ params: [a] }, { params: new Map([['w', a]]) }], { lr: 0.1 })).toThrow(
      new ValueError('SGD: parameter w appears in more than one parameter group'),
    );
    expect(() => new SGD([a], { lr: -1 })).toThrow(new ValueError('SGD: paramGroups[0].lr must be >= 0, got -1'));
    expect(() => new SGD([a], { lr: 0.1, nesterov: true })).toThrow(
      new ValueError('SGD: paramGroups[0]: nesterov needs momentum > 0 and dampening 0, got momentum 0, dampening 0'),
    );
    expect(() => new AdamW([{ params: [a], betas: [0.9, 1] }])).toThrow(
      new ValueError('AdamW: paramGroups[0].betas must both be in [0, 1), got [0.9, 1]'),
    );
    a.dispose();
  });
});

describe('Optimizer.step', () => {
  it('updates only parameters that have a gradient and never disposes the gradients', () => {
    const a = tf.variable(tf.tensor1d([1, 2]));
    const b = tf.variable(tf.tensor1d([5]));
    const opt = new SGD([a, b], { lr: 0.5 });
    const g = tf.tensor1d([2, 4]);
    opt.step(new Map([[a, g]]));
    expect(Array.from(a.dataSync())).toEqual([0, 0]);
    expect(Array.from(b.dataSync())).toEqual([5]);
    expect(g.isDisposed).toBe(false);
    tf.dispose([a, b, g]);
  });

  it('rejects a gradient whose shape differs from its parameter', () => {
    const a = tf.variable(tf.zeros([2, 3]));
    const opt = new SGD(new Map([['fc.weight', a]]), { lr: 0.1 });
    const g = tf.zeros([3, 2]);
    expect(() => opt.step({ [a.name]: g })).toThrow(
      new ShapeError("SGD.step: gradient of fc.weight must be [2,3] (the parameter's shape), got [3,2]"),
    );
    tf.dispose([a, g]);
  });

  it('rejects gradients that match no parameter (e.g. keyed by state-dict name)', () => {
    const a = tf.variable(tf.zeros([2]));
    const opt = new AdamW([a]);
    const g = tf.zeros([2]);
    expect(() => opt.step({ 'fc.weight': g })).toThrow(
      new ValueError(
        'AdamW.step: none of the 1 gradients matches a parameter of this optimizer (key them by the tf.Variable or by Variable.name, as tf.variableGrads does)',
      ),
    );
    tf.dispose([a, g]);
  });
});

describe('Optimizer.loadState', () => {
  it('rejects a state whose groups or buffer shapes do not fit', () => {
    const a = tf.variable(tf.zeros([2]));
    const b = tf.variable(tf.zeros([3]));
    const opt = new SGD([{ params: [a] }, { params: [b] }], { lr: 0.1, momentum: 0.9 });
    expect(() => opt.loadState({ paramGroups: [{ params: [0], lr: 0.1 }], state: {} })).toThrow(
      new ValueError('SGD.loadState: state has 1 parameter groups, the optimizer has 2'),
    );
    const wrong = tf.zeros([3]);
    expect(() =>
      opt.loadState({
        paramGroups: [{ params: [0] }, { params: [1] }],
        state: { 0: { step: 1, buffers: { momentum_buffer: wrong } } },
      }),
    ).toThrow(new ShapeError("SGD.loadState: state[0].momentum_buffer must be [2] (the parameter's shape), got [3]"));
    tf.dispose([a, b, wrong]);
  });

  it('copies the buffers it loads and restores the group hyper-parameters', () => {
    const a = tf.variable(tf.zeros([2]));
    const opt = new SGD([a], { lr: 0.1, momentum: 0.9 });
    const buf = tf.tensor1d([1, 1]);
    opt.loadState({ paramGroups: [{ params: [0], lr: 0.25 }], state: { 0: { step: 3, buffers: { momentum_buffer: buf } } } });
    buf.dispose(); // the caller's copy; the optimizer holds its own
    expect(opt.paramGroups[0].lr).toBe(0.25);
    const g = tf.zeros([2]);
    opt.step([a].reduce((m, v) => m.set(v, g), new Map<tf.Variable, tf.Tensor>()));
    // buf ← 0.9·1 + 0 = 0.9; p ← 0 − 0.25·0.9
    expectClose(Array.from(a.dataSync()), [-0.225, -0.225]);
    const saved = opt.state();
    expect(saved.state[0].step).toBe(4);
    tf.dispose(Object.values(saved.state[0].buffers));
    opt.dispose();
    tf.dispose([a, g]);
  });
});

function expectClose(actual: number[], expected: number[]): void {
  actual.forEach((x, i) => expect(x).toBeCloseTo(expected[i], 6));
}
