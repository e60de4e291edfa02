import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Generator } from '@residual/core';
import { fasterrcnnResnetFpn } from '@residual/faster-rcnn';
import { maskrcnnResnetFpn } from '@residual/mask-rcnn';
import { maxAbsDiff, useBackend } from '@residual/test-utils';
import { OnnxSession, decodeModel, exportDetector } from '../src/index.js';
import { saveDetectorOnnx } from '../src/node.js';

beforeAll(async () => {
  await useBackend();
});

describe('exportDetector', () => {
  it('writes one ONNX file per dense part of a Mask R-CNN and a manifest naming them and the TS-side settings', async () => {
    const model = maskrcnnResnetFpn('resnet18', { numClasses: 3, minSize: 96, maxSize: 128, generator: new Generator(1) }).eval();
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'residual-onnx-'));
    try {
      const written = await saveDetectorOnnx(dir, exportDetector(model));
      expect(written.map((f) => path.basename(f))).toEqual(['backbone.onnx', 'rpn_head.onnx', 'box_head.onnx', 'mask_head.onnx', 'manifest.json']);
      const manifest = JSON.parse(await fs.readFile(path.join(dir, 'manifest.json'), 'utf8'));
      expect(manifest).toMatchObject({
        format: 'residual-onnx-detector',
        arch: 'maskrcnn',
        opset: 17,
        layout: 'nchw',
        numClasses: 3,
        parts: {
          backbone: { file: 'backbone.onnx', inputs: ['input'], outputs: ['0', '1', '2', '3', 'pool'] },
          rpn_head: { inputs: ['0', '1', '2', '3', 'pool'], outputs: ['logits.0', 'logits.1', 'logits.2', 'logits.3', 'logits.pool', 'bbox_reg.0', 'bbox_reg.1', 'bbox_reg.2', 'bbox_reg.3', 'bbox_reg.pool'] },
          box_head: { inputs: ['input'], outputs: ['class_logits', 'box_regression'] },
          mask_head: { inputs: ['input'], outputs: ['mask_logits'] },
        },
        transform: { minSize: [96], maxSize: 128, sizeDivisible: 32 },
        anchors: { sizes: [[32], [64], [128], [256], [512]] },
        rpn: { preNmsTopN: 1000, postNmsTopN: 1000, nmsThresh: 0.7 },
        boxRoiPool: { featmapNames: ['0', '1', '2', '3'], outputSize: [7, 7], samplingRatio: 2 },
        roiHeads: { bboxRegWeights: [10, 10, 5, 5], scoreThresh: 0.05, nmsThresh: 0.5, detectionsPerImg: 100 },
        maskRoiPool: { outputSize: [14, 14] },
      });
      const backbone = decodeModel(await fs.readFile(path.join(dir, 'backbone.onnx')));
      expect(backbone.graph.input[0].type.tensor_type.shape?.dim).toEqual([{ dim_param: 'batch' }, { dim_value: 3 }, { dim_param: 'height' }, { dim_param: 'width' }]);
      // The NCHW box head file runs as torchvision's: pooled [R,256,7,7] → logits [R,3], deltas [R,12].
      const session = await OnnxSession.create(await fs.readFile(path.join(dir, 'box_head.onnx')), { intraOpNumThreads: 1 });
      const pooled = tf.randomNormal([2, 7, 7, 256], 0, 1, 'float32', 2) as tf.Tensor4D;
      const out = await session.run({ input: tf.transpose(pooled, [0, 3, 1, 2]) });
      const features = model.roiHeads.boxHead.forward(pooled);
      const want = model.roiHeads.boxPredictor.forward(features);
      features.dispose();
      expect(maxAbsDiff(out.get('class_logits') as tf.Tensor, want.classLogits)).toBeLessThan(1e-5);
      tf.dispose([pooled, want.classLogits, want.boxRegression, ...out.values()]);
      await session.release();
    } finally {
      model.dispose();
      await fs.rm(dir, { recursive: true, force: true });
    }
  }, 60000);

  it('leaves the mask head out for Faster R-CNN', () => {
    const model = fasterrcnnResnetFpn('resnet18', { numClasses: 2, generator: new Generator(2) });
    try {
      const { files, manifest } = exportDetector(model);
      expect([...files.keys()]).toEqual(['backbone.onnx', 'rpn_head.onnx', 'box_head.onnx']);
      expect(manifest.arch).toBe('fasterrcnn');
      expect(manifest.parts.mask_head).toBeUndefined();
    } finally {
      model.dispose();
    }
  });
});
