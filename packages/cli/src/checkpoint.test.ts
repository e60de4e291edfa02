import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Generator, ValueError, type OptimizerState } from '@residual/core';
import { expectNoLeak, useBackend } from '@residual/test-utils';
import { loadCheckpoint, saveCheckpoint, type TrainState } from './checkpoint.js';

const state = (epoch: number): TrainState => ({
  format: 'residual-train-checkpoint', version: 1, epoch, iteration: 2 * epoch, arch: 'fasterrcnn', backbone: 'resnet18',
  numClasses: 2, categories: [{ id: 7, name: 'thing' }], optimizer: { paramGroups: [], steps: {} },
  scheduler: { lastStep: 2 * epoch, baseLrs: [0.02] }, generator: new Generator(epoch).state(),
});

function save(out: string, epoch: number, weight: number[], momentum: number[]): Promise<string> {
  const model = new Map<string, tf.Tensor>([['w', tf.tensor1d(weight)], ['n', tf.scalar(epoch, 'int32')]]);
  const m = tf.tensor1d(momentum);
  const optimizer: OptimizerState = { paramGroups: [{ params: [0], lr: 0.02, momentum: 0.9 }], state: { 0: { step: epoch, buffers: { momentum_buffer: m } } } };
  return saveCheckpoint(out, state(epoch), model, optimizer).finally(() => tf.dispose([...model.values(), m]));
}

describe('saveCheckpoint and loadCheckpoint', () => {
  let root: string;
  beforeAll(async () => {
    await useBackend();
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'residual-ckpt-'));
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('round-trips the model, the optimizer buffers and steps, and the state; keeps only the newest epoch', async () => {
    const out = path.join(root, 'round-trip');
    await save(out, 1, [1, 2], [0.5, 0.25]);
    expect(await save(out, 2, [3, 4], [0.125, 1])).toBe(path.join(out, 'epoch-0002'));
    expect(fs.readdirSync(out).sort()).toEqual(['epoch-0002', 'latest']);
    const loaded = await loadCheckpoint(out);
    expect(loaded.dir).toBe(path.join(out, 'epoch-0002'));
    expect(loaded.state).toEqual({ ...state(2), optimizer: { paramGroups: [{ params: [0], lr: 0.02, momentum: 0.9 }], steps: { 0: 2 } } });
    expect(Array.from(loaded.model.get('w')?.dataSync() ?? [])).toEqual([3, 4]);
    expect(loaded.optimizer.state[0].step).toBe(2);
    expect(Array.from(loaded.optimizer.state[0].buffers.momentum_buffer.dataSync())).toEqual([0.125, 1]);
    tf.dispose([...loaded.model.values(), loaded.optimizer.state[0].buffers.momentum_buffer]);
  });

  it('refuses NaN weights when there is no earlier checkpoint, and writes nothing', async () => {
    const out = path.join(root, 'first-nan');
    await expectNoLeak(() => expect(save(out, 1, [1, NaN, 3], [0, 0, 0])).rejects.toThrow(
      new ValueError(`saveCheckpoint: model entry "w" holds NaN at flat index 1; ${path.join(out, 'epoch-0001')} was not written and there is no earlier checkpoint`),
    ));
    expect(fs.existsSync(out)).toBe(false);
  });

  it('refuses an infinite optimizer buffer, names the last good checkpoint and leaves the folder as it was', async () => {
    const out = path.join(root, 'diverged');
    await save(out, 1, [1, 2], [0, 0]);
    await expect(save(out, 2, [1, 2], [0, -Infinity])).rejects.toThrow(
      new ValueError(`saveCheckpoint: optimizer buffer entry "state.0.momentum_buffer" holds -Infinity at flat index 1; ${path.join(out, 'epoch-0002')} was not written, the last good checkpoint is still ${path.join(out, 'epoch-0001')}`),
    );
    expect(fs.readdirSync(out).sort()).toEqual(['epoch-0001', 'latest']);
    expect(fs.readFileSync(path.join(out, 'latest'), 'utf8')).toBe('epoch-0001\n');
  });

  it('removes what a killed save left behind: temporary folders and pointer files', async () => {
    const out = path.join(root, 'leftovers');
    await save(out, 1, [1], [0]);
    fs.mkdirSync(path.join(out, '.epoch-0007.tmp'));
    fs.writeFileSync(path.join(out, '.epoch-0007.tmp', 'model.safetensors'), 'partial');
    fs.writeFileSync(path.join(out, '.latest.4242.00ff00ff00ff.tmp'), 'epoch-00');
    fs.writeFileSync(path.join(out, 'notes.txt'), 'not ours: kept');
    await save(out, 2, [1], [0]);
    expect(fs.readdirSync(out).sort()).toEqual(['epoch-0002', 'latest', 'notes.txt']);
  });
});
