import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { AdamW, Generator } from '@residual/core';
import { CocoDataset, disposeSample, writeShapesDataset } from '@residual/data';
import { LARS, LinearProbe, MaePretrainer, freezeForLinearProbe, linearProbeHead, maeVitTestPatch8, reconstruct } from '@residual/mae';
import { MaeCheckpointDir } from '@residual/mae/node';
import { useBackend } from '@residual/test-utils';
import { vitTestPatch8 } from '@residual/vit';
import { measureRepeatedCalls } from './steady-memory.js';

// The leak suite, continued (leak-suite.test.ts holds the model calls and training steps): the
// public calls that read files, MAE's reconstruction, linear probing, and pre-training with
// checkpoints written to disk. Each leaves tf.memory()'s tensor count and bytes where they were.

async function expectSteady(name: string, times: number, fn: () => unknown): Promise<void> {
  const { before, after } = await measureRepeatedCalls(times, fn);
  expect({ name, ...after }).toEqual({ name, ...before });
}

describe('the leak suite, continued: files, reconstruction, linear probing, checkpointing', () => {
  let root: string;
  beforeAll(async () => {
    await useBackend();
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'residual-leak-'));
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('CocoDataset.get with masks, and a truncated image that throws', async () => {
    const { annotationFile, imageDir } = await writeShapesDataset(root, { numImages: 2, imageSize: 48, minShapeSize: 16, maxShapeSize: 24, seed: 1 });
    const data = await CocoDataset.load(annotationFile, imageDir);
    await expectSteady('CocoDataset.get', 50, () => data.get(1));
    const png = fs.readFileSync(path.join(imageDir, data.imageInfo(0).file_name));
    fs.writeFileSync(path.join(imageDir, data.imageInfo(0).file_name), png.subarray(0, png.length >> 1));
    await expectSteady('CocoDataset.get (truncated image)', 50, () => data.get(0).then(disposeSample, () => null));
  });

  it('MAE reconstruct, LinearProbe.step with LARS, and MaePretrainer.trainStep saving a checkpoint each step', async () => {
    const x = new Generator(2).uniform([2, 32, 32, 3]) as tf.Tensor4D;
    const labels = tf.tensor1d([1, 0], 'int32');
    const mae = maeVitTestPatch8({ generator: new Generator(1) });
    const vit = vitTestPatch8({ numClasses: 3, head: linearProbeHead(32, 3, { generator: new Generator(3) }), generator: new Generator(4) });
    const lars = new LARS(freezeForLinearProbe(vit), { lr: 0.1 });
    const probe = new LinearProbe(vit.train(), lars);
    const adamw = new AdamW(mae.trainableParameters(), { lr: 1e-4, betas: [0.9, 0.95] });
    const store = new MaeCheckpointDir(path.join(root, 'mae'));
    const pretrainer = new MaePretrainer(mae, adamw, { lr: 1e-4, warmupEpochs: 1, epochs: 2, itersPerEpoch: 10, checkpointStore: store, checkpointEvery: 1 });
    try {
      await expectSteady('reconstruct', 50, () => reconstruct(mae, x));
      await expectSteady('LinearProbe.step (LARS)', 50, () => probe.step(x, labels));
      await expectSteady('MaePretrainer.trainStep + checkpoint', 10, () => pretrainer.trainStep(x));
      await expectSteady('MaePretrainer.resume', 10, () => pretrainer.resume());
    } finally {
      tf.dispose([x, labels]);
      pretrainer.dispose();
      [lars, adamw].forEach((o) => o.dispose());
      [mae, vit].forEach((m) => m.dispose());
    }
  });
});
