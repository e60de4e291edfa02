import * as tf from '@tensorflow/tfjs-core';
import { BatchNorm2d, ValueError } from '@residual/core';
import { BackboneWithFPN, LastLevelP6P7, resnetFpnBackbone } from '@residual/fpn';
import { resnet18 } from '@residual/resnet';
import { expectAllClose, expectNoLeak, fixturePath, loadFixture, useBackend } from '@residual/test-utils';
import { CheapGenerator } from './cheap-generator';
import { formulaTensor } from './formula-weights';

const generator = new CheapGenerator();

// Fixture: tools/fixtures/fpn.py, resnet_fpn_backbone('resnet18') of torchvision 0.14 with formula
// weights on a 2×64×96 input; every 8th output channel is stored. Tolerance 1e-4 relative: ten convs
// deep, float32 sums in a different order than torch's.

const dir = `${__dirname}/..`;
let fixture: Map<string, tf.Tensor>;
let meta: Record<string, string>;
let backbone: BackboneWithFPN;

beforeAll(async () => {
  await useBackend();
  ({ tensors: fixture, metadata: meta } = loadFixture(fixturePath(dir, 'resnet18_fpn.safetensors')));
  backbone = resnetFpnBackbone('resnet18', { generator });
});
afterAll(() => {
  tf.dispose([...fixture.values()]);
  backbone.dispose();
});

const keysOf = (name: string): Array<[string, number[]]> => JSON.parse(meta[name]) as Array<[string, number[]]>;

describe('resnetFpnBackbone', () => {
  it("has torchvision's state-dict keys and shapes (body.* without fc, fpn.*, FrozenBN without num_batches_tracked)", () => {
    const sd = backbone.stateDict();
    expect([...sd].map(([k, t]) => [k, t.shape])).toEqual(keysOf('keys').map(([k, s]) => [k, s]));
    tf.dispose([...sd.values()]);
  });

  it('matches torchvision on the formula weights (outputs 0, 1, 2, 3, pool)', () => {
    const keys = keysOf('keys');
    const dict = new Map(keys.map(([k, s]) => [k, formulaTensor(k, s)]));
    backbone.loadStateDict(dict);
    tf.dispose([...dict.values()]);
    backbone.eval();
    const out = backbone.forward(fixture.get('input') as tf.Tensor4D);
    expect([...out.keys()]).toEqual(['0', '1', '2', '3', 'pool']);
    for (const [k, t] of out) {
      const every8th = tf.tidy(() => tf.gather(t, tf.range(0, 256, 8, 'int32'), 3));
      expectAllClose(every8th, fixture.get(`out.${k}`)!, { rtol: 1e-4, atol: 1e-4 });
      every8th.dispose();
    }
    tf.dispose([...out.values()]);
  });

  it('freezes conv1 and layer1 by default (trainableLayers = 3), as torchvision', () => {
    const trainable = [...backbone.trainableParameters().keys()];
    expect(trainable).toEqual(JSON.parse(meta.trainable) as string[]);
    expect(trainable.some((k) => k.startsWith('body.layer1') || k.startsWith('body.conv1'))).toBe(false);
  });

  it('leaves only the fpn trainable with trainableLayers = 0 and everything but BN with 5 (bn1 included)', () => {
    const frozen = resnetFpnBackbone('resnet18', { trainableLayers: 0, generator });
    expect([...frozen.trainableParameters().keys()].every((k) => k.startsWith('fpn.'))).toBe(true);
    frozen.dispose();
    const all = resnetFpnBackbone('resnet18', { trainableLayers: 5, normLayer: (c) => new BatchNorm2d(c), generator });
    expect(all.trainableParameters().size).toBe(all.namedParameters().size);
    expect(all.trainableParameters().has('body.bn1.weight')).toBe(true);
    all.dispose();
  });

  it('gives no gradient to frozen parameters', () => {
    const x = tf.tidy(() => tf.slice(fixture.get('input')!, [0, 0, 0, 0], [1, 32, 32, 3])) as tf.Tensor4D;
    const { grads, value } = tf.variableGrads(() => {
      const out = backbone.forward(x);
      return tf.addN([...out.values()].map((t) => tf.sum(t))) as tf.Scalar;
    });
    expect(Object.keys(grads).length).toBe(backbone.trainableParameters().size);
    const frozenName = backbone.namedParameters().get('body.conv1.weight')!.name;
    expect(frozenName in grads).toBe(false);
    tf.dispose([value, x, ...Object.values(grads)]);
  });

  it('describes its outputs: 256 channels at strides 4, 8, 16, 32, 64', () => {
    expect(backbone.outputShape()).toEqual({
      '0': { channels: 256, stride: 4 },
      '1': { channels: 256, stride: 8 },
      '2': { channels: 256, stride: 16 },
      '3': { channels: 256, stride: 32 },
      pool: { channels: 256, stride: 64 },
    });
  });

  it('takes outChannels for a lighter pyramid, and rejects a non-positive one', () => {
    const light = resnetFpnBackbone('resnet18', { outChannels: 32, generator });
    expect(light.outChannels).toBe(32);
    const sd = light.stateDict();
    expect(sd.get('fpn.layer_blocks.0.0.weight')?.shape).toEqual([32, 32, 3, 3]);
    tf.dispose([...sd.values()]);
    light.dispose();
    expect(() => resnetFpnBackbone('resnet18', { outChannels: 0 })).toThrow('resnetFpnBackbone: outChannels must be a positive integer, got 0');
  });

  it('builds resnet50 with the key layout of torchvision (in_channels_list 256..2048)', () => {
    const r50 = resnetFpnBackbone('resnet50', { generator });
    const sd = r50.stateDict();
    expect([...sd].map(([k, t]) => [k, t.shape])).toEqual(keysOf('resnet50_keys'));
    tf.dispose([...sd.values()]);
    r50.dispose();
  });

  it('returns only the requested layers, renamed 0.., and stops the body after the last one', async () => {
    const small = resnetFpnBackbone('resnet18', {
      returnedLayers: [2, 3],
      extraBlocks: new LastLevelP6P7(256, 256, { generator }),
      generator,
    });
    expect([...small.body.children().keys()]).toEqual(['conv1', 'bn1', 'relu', 'maxpool', 'layer1', 'layer2', 'layer3']);
    expect(small.fpn.inChannelsList).toEqual([128, 256]);
    expect(small.outputShape()).toEqual({
      '0': { channels: 256, stride: 8 },
      '1': { channels: 256, stride: 16 },
      p6: { channels: 256, stride: 32 },
      p7: { channels: 256, stride: 64 },
    });
    const x = tf.zeros([1, 64, 64, 3]) as tf.Tensor4D;
    const out = await expectNoLeak(() => small.forward(x));
    expect([...out.keys()]).toEqual(['0', '1', 'p6', 'p7']);
    x.dispose();
    small.dispose();
  });

  it('rejects trainableLayers outside [0,5] and returnedLayers outside [1,4]', () => {
    expect(() => resnetFpnBackbone('resnet18', { trainableLayers: 6 })).toThrow(
      new ValueError('resnetFpnBackbone: trainableLayers must be an integer in [0,5], got 6'),
    );
    expect(() => resnetFpnBackbone('resnet18', { returnedLayers: [0, 1] })).toThrow(
      'resnetFpnBackbone: returnedLayers must be integers in [1,4], got [0,1]',
    );
  });
});

describe('BackboneWithFPN', () => {
  it('leaks nothing in forward', async () => {
    const x = tf.zeros([1, 32, 32, 3]) as tf.Tensor4D;
    await expectNoLeak(() => backbone.forward(x));
    x.dispose();
  });

  it('rejects return layers that are not children of the model', () => {
    const net = resnet18({ numClasses: 2, generator });
    expect(() => new BackboneWithFPN(net, { layer9: '0' }, [64], 8)).toThrow(
      'IntermediateLayerGetter: returnLayers must name children of the model (conv1, bn1, relu, maxpool, layer1, layer2, layer3, layer4, avgpool, fc), got layer9',
    );
    expect(() => new BackboneWithFPN(net, { layer1: '0' }, [64, 128], 8)).toThrow(
      'BackboneWithFPN: inChannelsList must have one entry per returned layer (1), got 2',
    );
    net.dispose();
  });
});
