import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Generator } from '@residual/core';
import { CocoDataset, writeShapesDataset } from '@residual/data';
import type { BackboneWithFPN } from '@residual/fpn';
import { expectNoLeak, useBackend } from '@residual/test-utils';
import { DETECTORS } from '../src/arch-table.js';
import { evaluateDetector } from '../src/evaluate-detector.js';
import { tempDir } from './run-cli.js';

async function kernels(f: () => unknown): Promise<string[]> {
  const info = await tf.profile(() => tf.tidy(() => {
    f();
    return tf.scalar(0);
  }));
  tf.dispose(info.result as tf.Tensor);
  return [...new Set(info.kernels.map((k) => k.name))];
}

describe('evaluateDetector', () => {
  beforeAll(async () => {
    await useBackend();
  });

  it('runs the backbone fused and leaves it unfused afterwards (training resumes on the plain modules), freeing the folded weights', async () => {
    const files = await writeShapesDataset(path.join(tempDir(), 'val'), { imageSize: 64, numImages: 2, seed: 3 });
    const dataset = await CocoDataset.load(files.annotationFile, files.imageDir, { masks: true });
    const model = DETECTORS.maskrcnn('resnet18', { numClasses: dataset.numClasses, generator: new Generator(2), minSize: 64, maxSize: 64, rpnPostNmsTopNTest: 30 });
    const x = tf.zeros([1, 64, 64, 3]) as tf.Tensor4D;
    const body = (model.backbone as unknown as BackboneWithFPN).body; // the ResNet: every conv has a norm after it
    const backboneKernels = (): Promise<string[]> => kernels(() => body.forward(x));

    const fusedDuring: string[][] = [];
    const predict = model.predict.bind(model);
    model.predict = (async (...args: Parameters<typeof predict>) => {
      fusedDuring.push(await backboneKernels());
      return predict(...args);
    }) as typeof model.predict;

    const first = await evaluateDetector(model, dataset); // fills the anchor generator's grid cache (kept by the model)
    const again = await expectNoLeak(() => evaluateDetector(model, dataset));
    expect(again).toEqual(first);
    expect(fusedDuring).toHaveLength(4);
    for (const names of fusedDuring) expect(names).toContain('FusedConv2D');
    for (const names of fusedDuring) expect(names).not.toContain('Conv2D');

    expect(model.training).toBe(false);
    expect(await backboneKernels()).toContain('Conv2D');
    expect(await backboneKernels()).not.toContain('FusedConv2D');
    tf.dispose(x);
    model.dispose();
  }, 120000);
});
