import * as tf from '@tensorflow/tfjs-core';
import { Module, ValueError } from '@residual/core';
import { FastRCNNPredictor, FasterRCNN, GeneralizedRCNNTransform, RoIHeads } from '@residual/faster-rcnn';
import type { Backbone, FeatureMaps } from '@residual/fpn';
import { NoDrawGenerator, countTensors, useBackend } from '@residual/test-utils';
import type { MaskRCNNHeads } from './mask-rcnn-heads.js';
import { MaskRCNNPredictor } from './mask-rcnn-predictor.js';
import { MaskRCNNTransform } from './mask-rcnn-transform.js';
import { MaskRCNN } from './mask-rcnn.js';
import { MaskRoIHeads } from './mask-roi-heads.js';

/** A stand-in backbone for construction tests (never run). */
class StubBackbone extends Module implements Backbone {
  constructor(readonly outChannels = 8) {
    super();
  }

  forward(): FeatureMaps {
    throw new Error('StubBackbone.forward: not used by these tests');
  }

  outputShape(): Record<string, { channels: number; stride: number }> {
    return {};
  }
}

const generator = new NoDrawGenerator(0);

describe('MaskRCNN(backbone, options)', () => {
  beforeAll(async () => {
    await useBackend();
  });

  it('is a FasterRCNN (as in torchvision) whose parts are built once: one MaskRoIHeads holding the box and mask branches, one MaskRCNNTransform', () => {
    const before = countTensors();
    const model = new MaskRCNN(new StubBackbone(8), { numClasses: 3, minSize: 320, maxSize: 512, boxDetectionsPerImg: 7, generator });
    try {
      expect(model).toBeInstanceOf(FasterRCNN);
      expect(model.roiHeads).toBeInstanceOf(MaskRoIHeads);
      expect(model.transform).toBeInstanceOf(MaskRCNNTransform);
      expect([model.transform.minSize, model.transform.maxSize, model.transform.sizeDivisible]).toEqual([[320], 512, 32]);
      const heads = model.roiHeads;
      expect(heads.detectionsPerImg).toBe(7);
      expect([heads.maskRoiPool.featmapNames, heads.maskRoiPool.outputSize, heads.maskRoiPool.samplingRatio]).toEqual([['0', '1', '2', '3'], [14, 14], 2]);
      expect((heads.maskHead as MaskRCNNHeads).outChannels).toBe(256);
      expect(heads.maskPredictor).toBeInstanceOf(MaskRCNNPredictor);
      expect([...model.children().keys()]).toEqual(['transform', 'backbone', 'rpn', 'roi_heads']);
      expect([...heads.children().keys()]).toEqual(['box_roi_pool', 'box_head', 'box_predictor', 'mask_roi_pool', 'mask_head', 'mask_predictor']);
      // Every tensor the constructor made is a parameter or buffer of the model: nothing built and dropped.
      const made = countTensors() - before;
      const dict = model.stateDict(); // torch-layout copies, the caller's
      expect(made).toBe(dict.size);
      expect([...dict.keys()].filter((k) => k.startsWith('roi_heads.mask_')).length).toBe(12);
      tf.dispose([...dict.values()]);
    } finally {
      model.dispose();
    }
    expect(countTensors()).toBe(before);
  });

  it('adopts the parts passed in (box and mask predictors) without numClasses', () => {
    const boxPredictor = new FastRCNNPredictor(1024, 4, { generator });
    const maskPredictor = new MaskRCNNPredictor(256, 256, 4, { generator });
    const model = new MaskRCNN(new StubBackbone(8), { boxPredictor, maskPredictor, generator });
    try {
      expect(model.roiHeads.boxPredictor).toBe(boxPredictor);
      expect(model.roiHeads.maskPredictor).toBe(maskPredictor);
    } finally {
      model.dispose();
    }
  });

  it('rejects numClasses with maskPredictor, or neither, and frees every part it had built when the mask branch fails', () => {
    const maskPredictor = new MaskRCNNPredictor(256, 256, 4, { generator });
    expect(() => new MaskRCNN(new StubBackbone(8), { numClasses: 3, maskPredictor })).toThrow(
      new ValueError('MaskRCNN: numClasses should be undefined when maskPredictor is specified, got 3'),
    );
    maskPredictor.dispose();
    const boxPredictor = new FastRCNNPredictor(1024, 4, { generator });
    const before = countTensors();
    // FasterRCNN accepts this (boxPredictor given), so its RPN head and box head exist when the mask branch throws.
    expect(() => new MaskRCNN(new StubBackbone(8), { boxPredictor, generator })).toThrow(
      new ValueError('MaskRCNN: numClasses should not be undefined when maskPredictor is not specified'),
    );
    expect(countTensors()).toBe(before); // nothing built is left behind; the adopted boxPredictor is untouched
    expect(boxPredictor.clsScore.weight.isDisposed).toBe(false);
    boxPredictor.dispose();
  });

  it('keeps the plain parts for FasterRCNN itself', () => {
    const model = new FasterRCNN(new StubBackbone(8), { numClasses: 3, generator });
    try {
      expect(model.roiHeads.constructor).toBe(RoIHeads);
      expect(model.transform.constructor).toBe(GeneralizedRCNNTransform);
    } finally {
      model.dispose();
    }
    tf.disposeVariables();
  });
});
