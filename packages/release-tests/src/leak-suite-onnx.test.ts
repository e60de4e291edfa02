/**
 * @jest-environment ../onnx/test/ort-environment.js
 */
// (onnxruntime-node makes its output arrays in Node's main realm; that environment shares the
// main realm's typed-array constructors with the test, as @residual/onnx's own tests do.)
import { Generator } from '@residual/core';
import { toOnnx, useEngine } from '@residual/onnx';
import { BasicBlock, ResNet } from '@residual/resnet';
import { useBackend } from '@residual/test-utils';
import { expectSteady } from './expect-steady.js';
import { disposeScene, tinyFasterRcnn, tinyMaskRcnn, tinyScene, type Scene } from './tiny-models.js';

// The leak suite for @residual/onnx: the onnxruntime engine's predict (dense parts in onnxruntime,
// the rest in tfjs), switching engines, and toOnnx, 50 calls each after a warm-up, leave
// tf.memory()'s tensor count and bytes where they were.

// One thread per session: the models are tiny, and spinning worker threads only slow a shared machine down.
const ORT_OPTIONS = { intraOpNumThreads: 1, interOpNumThreads: 1 };

describe('the leak suite, onnx: the onnxruntime engine and toOnnx leave tf.memory() unchanged', () => {
  let scene: Scene;
  beforeAll(async () => {
    await useBackend();
    scene = tinyScene(new Generator(0));
  });
  afterAll(() => disposeScene(scene));

  it('Faster R-CNN on the onnxruntime engine: predict, and useEngine to onnxruntime and back', async () => {
    const model = tinyFasterRcnn(0).eval();
    try {
      await useEngine(model, 'onnxruntime', ORT_OPTIONS);
      expect(model.engine?.name).toBe('onnxruntime');
      await expectSteady('FasterRCNN.predict (onnxruntime)', () => model.predict(scene.image));
      await expectSteady('useEngine onnxruntime, then tfjs', async () => {
        await useEngine(model, 'onnxruntime', ORT_OPTIONS);
        await useEngine(model, 'tfjs');
      });
    } finally {
      await useEngine(model, 'tfjs');
      model.dispose();
    }
  });

  it('Mask R-CNN on the onnxruntime engine: predict with full masks and RLE', async () => {
    const model = tinyMaskRcnn(0).eval();
    try {
      await useEngine(model, 'onnxruntime', ORT_OPTIONS);
      expect(model.engine?.name).toBe('onnxruntime');
      await expectSteady('MaskRCNN.predict (onnxruntime)', () => model.predict(scene.image));
      await expectSteady('MaskRCNN.predict (onnxruntime, rle)', () => model.predict(scene.image, { maskFormat: 'rle' }));
    } finally {
      await useEngine(model, 'tfjs');
      model.dispose();
    }
  });

  it('toOnnx of a ResNet', async () => {
    const resnet = new ResNet(BasicBlock, [1, 1, 1, 1], { numClasses: 5, generator: new Generator(1) });
    try {
      await expectSteady('toOnnx(ResNet)', () => {
        expect(toOnnx(resnet, { inputShape: [1, 3, 16, 16], dynamicBatch: true }).length).toBeGreaterThan(0);
      });
    } finally {
      resnet.dispose();
    }
  });
});
