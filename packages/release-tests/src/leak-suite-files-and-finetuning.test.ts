import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { AdamW, Generator, SGD } from '@residual/core';
import { saveSafetensors } from '@residual/core/node';
import { classificationTransform, evaluateDetector, loadCheckpoint, loadWeights, saveCheckpoint, type TrainState } from '@residual/cli';
import { CocoDataset, disposeSample, readImage, writeShapesDataset } from '@residual/data';
import {
  LARS, LinearProbe, MaePretrainer, freezeForLinearProbe, linearProbeHead, loadMaeEncoder, maeVitTestPatch8, paramGroupsLrd, reconstruct,
} from '@residual/mae';
import { MaeCheckpointDir } from '@residual/mae/node';
import { useBackend } from '@residual/test-utils';
import { vitTestPatch8 } from '@residual/vit';
import { expectSteady } from './expect-steady.js';
import { trainStep } from '@residual/faster-rcnn';
import { disposeScene, tinyFasterRcnn, tinyScene } from './tiny-models.js';

// The leak suite, continued (leak-suite.test.ts holds the model calls and training steps): the
// public calls that read files, MAE's reconstruction, fine-tuning and linear probing, pre-training
// with checkpoints written to disk, and the CLI's public helpers. Each call, repeated 50 times,
// leaves tf.memory()'s tensor count and bytes where they were. (`trainDetector` itself builds a
// ResNet-18 detector per call, too slow for 50 runs; its steps are covered here and in leak-suite.)

describe('the leak suite, continued: files, reconstruction, fine-tuning, checkpointing, the CLI helpers', () => {
  let root: string;
  let shapes: { annotationFile: string; imageDir: string };
  beforeAll(async () => {
    await useBackend();
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'residual-leak-'));
    shapes = await writeShapesDataset(path.join(root, 'shapes'), { numImages: 2, imageSize: 32, minShapeSize: 8, maxShapeSize: 16, seed: 1 });
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it('CocoDataset.get with masks, readImage, and a truncated image that throws', async () => {
    const data = await CocoDataset.load(shapes.annotationFile, shapes.imageDir);
    await expectSteady('CocoDataset.get', () => data.get(1));
    await expectSteady('readImage', () => readImage(path.join(shapes.imageDir, data.imageInfo(1).file_name)));
    const copy = path.join(root, 'truncated');
    fs.cpSync(shapes.imageDir, copy, { recursive: true });
    const truncated = await CocoDataset.load(shapes.annotationFile, copy);
    const file = path.join(copy, truncated.imageInfo(0).file_name);
    const png = fs.readFileSync(file);
    fs.writeFileSync(file, png.subarray(0, png.length >> 1));
    await expectSteady('CocoDataset.get (truncated image)', () => truncated.get(0).then(disposeSample, () => null));
  });

  it('MAE reconstruct, fine-tuning (loadMaeEncoder, paramGroupsLrd + AdamW), LinearProbe.step with LARS, MaePretrainer.trainStep saving a checkpoint each step, and resume', async () => {
    const x = new Generator(2).uniform([2, 16, 16, 3]) as tf.Tensor4D;
    const labels = tf.tensor1d([1, 0], 'int32');
    const mae = maeVitTestPatch8({ imgSize: 16, generator: new Generator(1) });
    const encoder = mae.stateDict();
    const finetuned = vitTestPatch8({ imgSize: 16, numClasses: 3, generator: new Generator(5) });
    const finetune = new AdamW(paramGroupsLrd(finetuned, { noWeightDecayList: finetuned.noWeightDecay(), layerDecay: 0.75 }), { lr: 1e-3 });
    const vit = vitTestPatch8({ imgSize: 16, numClasses: 3, head: linearProbeHead(32, 3, { generator: new Generator(3) }), generator: new Generator(4) });
    const lars = new LARS(freezeForLinearProbe(vit), { lr: 0.1 });
    const probe = new LinearProbe(vit.train(), lars);
    const adamw = new AdamW(mae.trainableParameters(), { lr: 1e-4, betas: [0.9, 0.95] });
    const store = new MaeCheckpointDir(path.join(root, 'mae'));
    const pretrainer = new MaePretrainer(mae, adamw, { lr: 1e-4, warmupEpochs: 1, epochs: 2, itersPerEpoch: 10, checkpointStore: store, checkpointEvery: 1 });
    try {
      await expectSteady('reconstruct', () => reconstruct(mae, x));
      await expectSteady('loadMaeEncoder', () => {
        loadMaeEncoder(finetuned, encoder, { generator: new Generator(6) });
      });
      await expectSteady('fine-tuning step (paramGroupsLrd + AdamW)', () => {
        const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 3), finetuned.train().forward(x)), [
          ...finetuned.trainableParameters().values(),
        ]);
        finetune.step(grads);
        return [value, grads];
      });
      await expectSteady('LinearProbe.step (LARS)', () => probe.step(x, labels));
      await expectSteady('MaePretrainer.trainStep + checkpoint', () => pretrainer.trainStep(x));
      await expectSteady('MaePretrainer.resume', () => pretrainer.resume());
    } finally {
      tf.dispose([x, labels, ...encoder.values()]);
      pretrainer.dispose();
      [lars, adamw, finetune].forEach((o) => o.dispose());
      [mae, vit, finetuned].forEach((m) => m.dispose());
    }
  });

  it('the CLI helpers: loadWeights, classificationTransform, saveCheckpoint + loadCheckpoint, evaluateDetector', async () => {
    const model = tinyFasterRcnn(0, 5);
    const sgd = new SGD(model.trainableParameters(), { lr: 0.01, momentum: 0.9 });
    const scene = tinyScene(new Generator(8));
    trainStep(model, sgd, [scene.image], [scene.target]); // momentum buffers for the checkpoint
    disposeScene(scene);
    const image = new Generator(7).uniform([20, 24, 3]) as tf.Tensor3D;
    const weights = path.join(root, 'weights.safetensors');
    const dict = model.stateDict();
    await saveSafetensors(weights, dict);
    const data = await CocoDataset.load(shapes.annotationFile, shapes.imageDir, { masks: false });
    const state: TrainState = {
      format: 'residual-train-checkpoint', version: 1, epoch: 1, iteration: 1, arch: 'fasterrcnn', backbone: 'tiny', numClasses: 5,
      categories: [], optimizer: { paramGroups: [], steps: {} }, scheduler: { lastStep: 0, baseLrs: [0.01] }, generator: new Generator(0).state(),
    };
    try {
      await expectSteady('loadWeights (safetensors)', async () => (await loadWeights(weights, '--weights')).tensors);
      await expectSteady('classificationTransform', () => classificationTransform(image, { resizeSize: 16, cropSize: 12 }));
      await expectSteady('saveCheckpoint + loadCheckpoint', async () => {
        const optimizer = sgd.state();
        try {
          await saveCheckpoint(path.join(root, 'train'), { ...state, epoch: state.epoch++ }, dict, optimizer);
        } finally {
          tf.dispose(Object.values(optimizer.state).flatMap((s) => Object.values(s.buffers)));
        }
        const loaded = await loadCheckpoint(path.join(root, 'train'));
        return [loaded.model, Object.values(loaded.optimizer.state).map((s) => s.buffers)];
      });
      await expectSteady('evaluateDetector', () => evaluateDetector(model, data));
    } finally {
      tf.dispose([image, ...dict.values()]);
      sgd.dispose();
      model.dispose();
    }
  });
});
