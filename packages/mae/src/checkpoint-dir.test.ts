import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { AdamW, Generator, ValueError } from '@residual/core';
import { writeFileAtomic } from '@residual/core/node';
import { expectNoLeak, useBackend } from '@residual/test-utils';
import { MaeCheckpointDir, type MaeCheckpointDirOptions } from './checkpoint-dir.js';
import { maeVitTestPatch8 } from './mae-builders.js';
import { disposeMaeCheckpoint, encodeMaeCheckpoint } from './mae-checkpoint.js';
import { maePretrainParamGroups } from './pretrain-param-groups.js';
import { MaePretrainer, NonFiniteLossError } from './pretrainer.js';

// The data of iteration i, the same in every run (a resumed run must see the same data order).
const batchAt = (i: number) => tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 100 + i) as tf.Tensor4D;

/** A fresh model + AdamW + trainer; masking noise comes from the model's generator. */
function setup(root: string, seed: number, dirOptions: MaeCheckpointDirOptions = {}) {
  const model = maeVitTestPatch8({ generator: new Generator(seed) });
  const optimizer = new AdamW(maePretrainParamGroups(model, 0.05), { lr: 1e-3, betas: [0.9, 0.95] });
  const trainer = new MaePretrainer(model, optimizer, {
    lr: 2e-3, warmupEpochs: 1, epochs: 4, itersPerEpoch: 4, accumIter: 2,
    checkpointStore: new MaeCheckpointDir(root, dirOptions), checkpointEvery: 1,
  });
  const dispose = () => {
    trainer.dispose();
    optimizer.dispose();
    model.dispose();
  };
  return { model, optimizer, trainer, dispose };
}

async function run(trainer: MaePretrainer, from: number, to: number): Promise<number[]> {
  const losses: number[] = [];
  for (let i = from; i < to; i++) {
    const x = batchAt(i);
    try {
      losses.push((await trainer.trainStep(x)).loss);
    } finally {
      x.dispose();
    }
  }
  return losses;
}

const params = (m: { namedParameters(): Map<string, tf.Variable> }) =>
  new Map([...m.namedParameters()].map(([k, v]) => [k, Array.from(v.dataSync())]));

describe('MaeCheckpointDir with MaePretrainer', () => {
  let tmp: string;

  beforeAll(async () => {
    await useBackend();
  });

  beforeEach(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'mae-ckpt-'));
  });

  afterEach(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('resumes to bit-identical losses and weights of an uninterrupted run (same seed, same data order)', async () => {
    const straight = setup(path.join(tmp, 'a'), 1);
    const expected = await run(straight.trainer, 0, 8);
    const expectedParams = params(straight.model);
    straight.dispose();

    const first = setup(path.join(tmp, 'b'), 1);
    const before = await run(first.trainer, 0, 4); // checkpoints after iterations 2 and 4
    first.dispose();
    const second = setup(path.join(tmp, 'b'), 77); // other initial weights and generator: all must come from the checkpoint
    expect(await second.trainer.resume()).toBe(true);
    expect(second.trainer.iteration).toBe(4);
    const after = await run(second.trainer, 4, 8);
    expect([...before, ...after]).toEqual(expected);
    expect(params(second.model)).toEqual(expectedParams);
    second.dispose();
  });

  it('keeps the last keepLast checkpoints and points latest at the newest', async () => {
    const root = path.join(tmp, 'c');
    const t = setup(root, 2, { keepLast: 2 });
    await run(t.trainer, 0, 6);
    t.dispose();
    expect((await fs.readdir(root)).sort()).toEqual(['checkpoint-00000004', 'checkpoint-00000006', 'latest']);
    expect(JSON.parse(await fs.readFile(path.join(root, 'latest'), 'utf8'))).toEqual({
      latest: 'checkpoint-00000006', iteration: 6, kept: ['checkpoint-00000006', 'checkpoint-00000004'],
    });
    // absolute, so that resume(latest) works whatever the working directory and a relative root
    const relative = new MaeCheckpointDir(path.relative(process.cwd(), root));
    expect(await relative.latest()).toBe(path.join(root, 'checkpoint-00000006'));
    const files = (await fs.readdir(path.join(root, 'checkpoint-00000006'))).sort();
    expect(files).toEqual(['model.safetensors', 'optimizer.safetensors', 'trainer.json']);
  });

  it('writes the model under its torch keys and layouts, loadable into a fresh model', async () => {
    const root = path.join(tmp, 'd');
    const t = setup(root, 3);
    await run(t.trainer, 0, 2);
    const ckpt = await new MaeCheckpointDir(root).load();
    const sd = t.model.stateDict();
    expect([...ckpt.model.keys()].sort()).toEqual([...sd.keys()].sort()); // safetensors stores keys sorted
    for (const [k, v] of sd) expect(Array.from(ckpt.model.get(k)?.dataSync() ?? [])).toEqual(Array.from(v.dataSync()));
    expect(ckpt.model.get('decoder_pred.weight')?.shape).toEqual([192, 24]); // torch Linear [out, in]
    expect(ckpt.iteration).toBe(2);
    expect(ckpt.config).toEqual(t.model.config);
    expect(ckpt.generator).toEqual(t.model.generator.state());
    tf.dispose([...sd.values()]);
    disposeMaeCheckpoint(ckpt);
    t.dispose();
  });

  it('leaves the previous checkpoint loadable when a save fails midway', async () => {
    const root = path.join(tmp, 'e');
    let failing = false;
    const writeFile = async (file: string, bytes: Uint8Array) => {
      if (failing && file.endsWith('optimizer.safetensors')) {
        await writeFileAtomic(file, bytes.subarray(0, 10)); // a torn write, then the crash
        throw new Error('disk full');
      }
      await writeFileAtomic(file, bytes);
    };
    const t = setup(root, 4, { writeFile });
    await run(t.trainer, 0, 2);
    const good = params(t.model);
    failing = true;
    await expect(run(t.trainer, 2, 4)).rejects.toThrow('disk full');
    t.dispose();
    expect(await fs.readdir(root)).toEqual(expect.arrayContaining(['checkpoint-00000002', 'latest']));
    expect((await fs.readdir(root)).some((f) => f.includes('00000004'))).toBe(false);
    const fresh = setup(root, 9);
    await fresh.trainer.resume();
    expect(fresh.trainer.iteration).toBe(2);
    expect(params(fresh.model)).toEqual(good);
    fresh.dispose();
  });

  it('stops on a NaN loss with NonFiniteLossError, without updating, and keeps the last checkpoint', async () => {
    const root = path.join(tmp, 'f');
    const t = setup(root, 5);
    await run(t.trainer, 0, 2);
    const good = params(t.model);
    const bad = tf.fill([2, 32, 32, 3], NaN) as tf.Tensor4D;
    const attempt = t.trainer.trainStep(bad);
    await expect(attempt).rejects.toThrow(NonFiniteLossError);
    await expect(t.trainer.trainStep(bad)).rejects.toThrow(
      'MaePretrainer.step: loss is NaN at iteration 2, stopping training (no update applied; the last saved checkpoint is untouched)',
    );
    bad.dispose();
    expect(params(t.model)).toEqual(good);
    const ckpt = await new MaeCheckpointDir(root).load();
    expect(ckpt.iteration).toBe(2);
    disposeMaeCheckpoint(ckpt);
    t.dispose();
  });

  it('refuses to save NaN/±Infinity weights, naming the entry and the last good checkpoint, which stays latest and loads', async () => {
    const root = path.join(tmp, 'nan-weights');
    const t = setup(root, 8);
    await run(t.trainer, 0, 2);
    const good = params(t.model);
    for (const i of [2, 3]) {
      const x = batchAt(i);
      t.trainer.step(x); // trained on, not saved
      x.dispose();
    }
    const w = t.model.namedParameters().get('blocks.0.mlp.fc1.weight') as tf.Variable;
    const values = Float32Array.from(w.dataSync() as Float32Array);
    values[3] = Infinity;
    w.assign(tf.tensor(values, w.shape));
    // The index is the torch layout's: tfjs [in, out] (0, 3) is torch [out, in] (3, 0), 3 · 32.
    const attempt = expectNoLeak(() => t.trainer.saveCheckpoint());
    await expect(attempt).rejects.toThrow(ValueError);
    await expect(attempt).rejects.toThrow(
      `encodeMaeCheckpoint: model entry "blocks.0.mlp.fc1.weight" holds Infinity at flat index 96 (iteration 4); a checkpoint never holds non-finite values; ` +
        `${path.join(root, 'checkpoint-00000004')} was not written, the last good checkpoint is still ${path.join(root, 'checkpoint-00000002')}`,
    );
    t.dispose();
    expect((await fs.readdir(root)).sort()).toEqual(['checkpoint-00000002', 'latest']);
    const fresh = setup(root, 9);
    expect(await fresh.trainer.resume()).toBe(true);
    expect(fresh.trainer.iteration).toBe(2);
    expect(params(fresh.model)).toEqual(good);
    fresh.dispose();
  });

  it('refuses NaN in an optimiser buffer too, and says when there is no earlier checkpoint', async () => {
    const root = path.join(tmp, 'nan-buffer');
    const t = setup(root, 10);
    for (const i of [0, 1]) {
      const x = batchAt(i);
      t.trainer.step(x); // after the second, one optimiser step: AdamW's exp_avg and exp_avg_sq exist
      x.dispose();
    }
    const ckpt = t.trainer.checkpoint();
    const [index, first] = Object.entries(ckpt.optimizer.state)[0];
    const nan = tf.fill(first.buffers.exp_avg_sq.shape, NaN);
    first.buffers.exp_avg_sq.dispose();
    first.buffers.exp_avg_sq = nan;
    expect(() => encodeMaeCheckpoint(ckpt)).toThrow(
      `encodeMaeCheckpoint: optimizer buffer entry "state.${index}.exp_avg_sq" holds NaN at flat index 0 (iteration 2); a checkpoint never holds non-finite values`,
    );
    await expect(new MaeCheckpointDir(root).save(ckpt)).rejects.toThrow(
      `encodeMaeCheckpoint: optimizer buffer entry "state.${index}.exp_avg_sq" holds NaN at flat index 0 (iteration 2); a checkpoint never holds non-finite values; ` +
        `${path.join(root, 'checkpoint-00000002')} was not written, there is no earlier checkpoint`,
    );
    await expect(fs.readdir(root)).rejects.toThrow('ENOENT');
    disposeMaeCheckpoint(ckpt);
    t.dispose();
  });

  it('refuses to checkpoint inside an accumulation window', () => {
    const t = setup(path.join(tmp, 'g'), 6);
    const x = batchAt(0);
    t.trainer.step(x);
    expect(() => t.trainer.checkpoint()).toThrow(
      'MaePretrainer.checkpoint: iteration 1 is inside an accumulation window of 2; checkpoint after an optimiser step',
    );
    x.dispose();
    t.dispose();
  });

  it('resumes nothing (false) from an empty store, and says so when asked to load from it', async () => {
    const root = path.join(tmp, 'h');
    const t = setup(root, 7);
    expect(await t.trainer.resume()).toBe(false);
    expect(t.trainer.iteration).toBe(0);
    await expect(new MaeCheckpointDir(root).load()).rejects.toThrow(ValueError);
    await expect(new MaeCheckpointDir(root).load()).rejects.toThrow(`MaeCheckpointDir.load: no checkpoint in ${root} (no "latest" file)`);
    await expect(t.trainer.resume(path.join(root, 'checkpoint-00000002'))).rejects.toThrow('ENOENT');
    t.dispose();
  });
});
