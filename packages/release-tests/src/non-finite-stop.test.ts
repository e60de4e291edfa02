import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { AdamW, Generator, SGD } from '@residual/core';
import { trainStep } from '@residual/faster-rcnn';
import { MaePretrainer, NonFiniteLossError, maeVitTestPatch8 } from '@residual/mae';
import { MaeCheckpointDir } from '@residual/mae/node';
import { useBackend } from '@residual/test-utils';
import { disposeScene, tinyFasterRcnn, tinyScene } from './tiny-models.js';

// Issue 10: a NaN/Inf loss stops training with a clear message and the last good checkpoint kept.
// Checked from outside, through the public training entry points. (`residual train` is covered by
// @residual/cli's train test and its checkpoint tests.)

/** A copy of `t` with one value replaced by NaN (a corrupt pixel). */
function withNaN<T extends tf.Tensor>(t: T, at: number): T {
  const values = Float32Array.from(t.dataSync() as Float32Array);
  values[at] = NaN;
  return tf.tensor(values, t.shape, 'float32') as T;
}

/** A copy of every trainable parameter's values, to compare before and after a step. */
function snapshot(params: Map<string, tf.Variable>): Map<string, Float32Array> {
  return new Map([...params].map(([k, v]) => [k, Float32Array.from(v.dataSync() as Float32Array)]));
}

describe('non-finite losses', () => {
  beforeAll(async () => {
    await useBackend();
  });

  it('MaePretrainer: a NaN image stops with NonFiniteLossError before any update; the store keeps the last good checkpoint, which resumes', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'residual-nan-'));
    const gen = new Generator(4);
    const model = maeVitTestPatch8({ generator: new Generator(1) });
    const optimizer = new AdamW(model.trainableParameters(), { lr: 1e-3, betas: [0.9, 0.95] });
    const store = new MaeCheckpointDir(root);
    const options = { lr: 1e-3, warmupEpochs: 1, epochs: 2, itersPerEpoch: 4, checkpointStore: store, checkpointEvery: 1 };
    const pretrainer = new MaePretrainer(model, optimizer, options);
    const good = gen.uniform([2, 32, 32, 3]) as tf.Tensor4D;
    const bad = withNaN(good, 5);
    try {
      await pretrainer.trainStep(good);
      const saved = (await pretrainer.trainStep(good)).checkpoint;
      const before = snapshot(model.trainableParameters());
      const tensors = tf.memory().numTensors;
      await expect(pretrainer.trainStep(bad)).rejects.toThrow(
        new NonFiniteLossError('MaePretrainer.step: loss is NaN at iteration 2, stopping training (no update applied; the last saved checkpoint is untouched)'),
      );
      expect(tf.memory().numTensors).toBe(tensors);
      expect(snapshot(model.trainableParameters())).toEqual(before);
      expect(await store.latest()).toBe(saved);

      const freshModel = maeVitTestPatch8({ generator: new Generator(9) });
      const fresh = new MaePretrainer(freshModel, new AdamW(freshModel.trainableParameters(), { lr: 1e-3, betas: [0.9, 0.95] }), options);
      try {
        expect(await fresh.resume()).toBe(true);
        expect(fresh.iteration).toBe(2);
        expect(snapshot(fresh.model.trainableParameters())).toEqual(before);
        expect(Number.isFinite(fresh.step(good).loss)).toBe(true);
      } finally {
        fresh.dispose();
        fresh.optimizer.dispose();
        fresh.model.dispose();
      }
    } finally {
      tf.dispose([good, bad]);
      pretrainer.dispose();
      optimizer.dispose();
      model.dispose();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  // trainStep applies the optimizer step whatever the loss (torchvision's train_one_epoch checks
  // the loss before backward and step): after this call every trainable parameter is NaN. Callers
  // must stop on the returned losses, as `residual train` does before it writes any checkpoint.
  it('faster-rcnn trainStep returns NaN losses for a NaN image, so its caller can stop', () => {
    const scene = tinyScene(new Generator(0));
    const model = tinyFasterRcnn(0);
    const sgd = new SGD(model.trainableParameters(), { lr: 0.001, momentum: 0.9 });
    const image = withNaN(scene.image, 100);
    try {
      const losses = trainStep(model, sgd, [image], [scene.target]);
      expect(Object.keys(losses).sort()).toEqual(['loss_box_reg', 'loss_classifier', 'loss_objectness', 'loss_rpn_box_reg']);
      expect(Object.values(losses).reduce((a, b) => a + b, 0)).toBeNaN();
    } finally {
      image.dispose();
      sgd.dispose();
      model.dispose();
      disposeScene(scene);
    }
  });
});
