import * as tf from '@tensorflow/tfjs-core';
import { Generator, ValueError } from '@residual/core';
import { expectNoLeak, useBackend } from '@residual/test-utils';
import { maskrcnnFromConfig, parseMaskRCNNConfig, readDetectorMetadata, type MaskRCNNConfig } from './mask-rcnn-config.js';

// A tiny configuration: ResNet-18 layers 2–3, a 16-channel pyramid, one anchor size per level (+ 'pool').
const CONFIG: MaskRCNNConfig = {
  backbone: 'resnet18',
  returnedLayers: [2, 3],
  fpnChannels: 16,
  anchorSizes: [16, 32, 64],
  aspectRatios: [1],
  representationSize: 32,
  maskHeadLayers: [8, 8],
  rpnBatchSizePerImage: 16,
  boxBatchSizePerImage: 16,
  rpnPreNmsTopNTrain: 50,
  rpnPostNmsTopNTrain: 20,
  rpnPreNmsTopNTest: 40,
  rpnPostNmsTopNTest: 10,
  minSize: 64,
  maxSize: 96,
};
const WHERE = '--weights m.safetensors';
const fail = (text: string): (() => unknown) => () => parseMaskRCNNConfig(text, WHERE);
const withField = (extra: Record<string, unknown>): string => JSON.stringify({ ...CONFIG, ...extra });

beforeAll(async () => {
  await useBackend();
});

describe('parseMaskRCNNConfig', () => {
  it('reads a config back as written', () => {
    expect(parseMaskRCNNConfig(JSON.stringify(CONFIG), WHERE)).toEqual(CONFIG);
  });

  it('reads a config without image sizes (older demo files) as 128 px', () => {
    const { minSize: _min, maxSize: _max, ...old } = CONFIG;
    expect(parseMaskRCNNConfig(JSON.stringify(old), WHERE)).toEqual({ ...CONFIG, minSize: 128, maxSize: 128 });
  });

  it('names the source and the key for text that is not JSON', () => {
    expect(fail('{"backbone":')).toThrow(ValueError);
    expect(fail('{"backbone":')).toThrow(/^--weights m\.safetensors: metadata "residual\.demo" is not valid JSON \(.+\)$/);
    expect(fail('[1]')).toThrow(new ValueError('--weights m.safetensors: metadata "residual.demo" must be a JSON object, got [1]'));
  });

  it('refuses unknown and missing fields, naming them', () => {
    expect(fail(withField({ norm: 'frozen', depth: 3 }))).toThrow(
      new ValueError(
        '--weights m.safetensors: metadata "residual.demo" has unknown fields "norm", "depth" (known: backbone, returnedLayers, anchorSizes, aspectRatios, ' +
          'maskHeadLayers, fpnChannels, representationSize, rpnBatchSizePerImage, boxBatchSizePerImage, rpnPreNmsTopNTrain, rpnPostNmsTopNTrain, ' +
          'rpnPreNmsTopNTest, rpnPostNmsTopNTest, minSize, maxSize)',
      ),
    );
    const { fpnChannels: _c, ...missing } = CONFIG;
    expect(fail(JSON.stringify(missing))).toThrow(new ValueError('--weights m.safetensors: metadata "residual.demo" lacks "fpnChannels"'));
  });

  it('refuses bad values, naming the field, what it must be and what it was', () => {
    const message = (what: string): ValueError => new ValueError(`--weights m.safetensors: metadata "residual.demo" ${what}`);
    expect(fail(withField({ backbone: 'vgg16' }))).toThrow(/"backbone" must be one of .*, got "vgg16"$/);
    expect(fail(withField({ fpnChannels: 0 }))).toThrow(message('"fpnChannels" must be a positive integer, got 0'));
    expect(fail(withField({ returnedLayers: [3, 2] }))).toThrow(message('"returnedLayers" must be ascending, got [3,2]'));
    expect(fail(withField({ returnedLayers: [0, 1] }))).toThrow(message('"returnedLayers" must be a non-empty array of layers 1–4, got [0,1]'));
    expect(fail(withField({ maskHeadLayers: [] }))).toThrow(message('"maskHeadLayers" must be a non-empty array of positive integers, got []'));
    expect(fail(withField({ anchorSizes: [16, 32] }))).toThrow(
      message('"anchorSizes" must have one size per pyramid level (2 returned layers + \'pool\' = 3), got 2'),
    );
  });
});

describe('readDetectorMetadata', () => {
  it('reads the config and the categories, and nothing from a file without them', () => {
    const categories = [{ id: 1, name: 'circle' }, { id: 3, name: 'star' }];
    expect(readDetectorMetadata({ 'residual.demo': JSON.stringify(CONFIG), 'residual.categories': JSON.stringify(categories), format: 'pt' }, WHERE)).toEqual({
      config: CONFIG,
      categories,
    });
    expect(readDetectorMetadata({ format: 'pt' }, WHERE)).toEqual({});
  });

  it('refuses categories that are not [{ id, name }]', () => {
    expect(() => readDetectorMetadata({ 'residual.categories': '[{"id":"1","name":"circle"}]' }, WHERE)).toThrow(
      new ValueError('--weights m.safetensors: metadata "residual.categories" must be a JSON array of { "id": integer, "name": string }, got [{"id":"1","name":"circle"}]'),
    );
    expect(() => readDetectorMetadata({ 'residual.categories': 'circle' }, WHERE)).toThrow(/"residual\.categories" must be a JSON array/);
  });
});

describe('maskrcnnFromConfig', () => {
  it('builds the described model with torchvision key names, BatchNorm2d and the config\'s inference settings, leaking nothing', async () => {
    await expectNoLeak(() => {
      const model = maskrcnnFromConfig(CONFIG, { numClasses: 3, generator: new Generator(0) });
      const dict = model.stateDict();
      const shapes = (key: string): number[] | undefined => dict.get(key)?.shape;
      expect(shapes('backbone.body.layer3.0.conv1.weight')).toEqual([256, 128, 3, 3]);
      expect([...dict.keys()].some((k) => k.startsWith('backbone.body.layer4.'))).toBe(false);
      expect(shapes('backbone.body.bn1.num_batches_tracked')).toEqual([]); // BatchNorm2d, not FrozenBatchNorm2d
      expect(shapes('backbone.fpn.inner_blocks.0.0.weight')).toEqual([16, 128, 1, 1]);
      expect(shapes('backbone.fpn.inner_blocks.1.0.weight')).toEqual([16, 256, 1, 1]);
      expect(shapes('rpn.head.cls_logits.weight')).toEqual([1, 16, 1, 1]);
      expect(shapes('roi_heads.box_head.fc6.weight')).toEqual([32, 16 * 7 * 7]);
      expect(shapes('roi_heads.box_predictor.cls_score.weight')).toEqual([3, 32]);
      expect(shapes('roi_heads.mask_head.1.0.weight')).toEqual([8, 8, 3, 3]);
      expect(shapes('roi_heads.mask_predictor.mask_fcn_logits.weight')).toEqual([3, 8, 1, 1]);
      expect([model.transform.minSize, model.transform.maxSize]).toEqual([[64], 96]);
      expect([model.rpn.preNmsTopN.testing, model.rpn.postNmsTopN.testing]).toEqual([40, 10]);
      tf.dispose([...dict.values()]);
      model.dispose();
    });
  });

  it('takes image sizes and inference settings from the options over the config\'s', async () => {
    await expectNoLeak(() => {
      const model = maskrcnnFromConfig(CONFIG, { numClasses: 2, minSize: 80, maxSize: 80, rpnPostNmsTopNTest: 5 });
      expect([model.transform.minSize, model.transform.maxSize]).toEqual([[80], 80]);
      expect([model.rpn.preNmsTopN.testing, model.rpn.postNmsTopN.testing]).toEqual([40, 5]);
      model.dispose();
    });
  });
});
