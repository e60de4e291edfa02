import * as tf from '@tensorflow/tfjs-core';
import { FrozenBatchNorm2d } from '@residual/core';
import { maxAbsDiff, useBackend } from '@residual/test-utils';
import { cifarResnet, resnet18, type CifarResNet, type ResNet } from '@residual/resnet';
import { NoDrawGenerator } from './test-generators.js';
import { formulaTensor, loadFormulaWeights, type KeyList } from './formula-weights.js';
import { get, resnetFixture } from './fixtures.js';

beforeAll(async () => {
  await useBackend();
});

function relErr(actual: tf.Tensor, expected: tf.Tensor): number {
  const scale = tf.tidy(() => tf.max(tf.abs(expected)).dataSync()[0]);
  return maxAbsDiff(actual, expected) / scale;
}

function keyList(model: { stateDict(): Map<string, tf.Tensor> }): KeyList {
  const sd = model.stateDict();
  const keys: KeyList = [...sd].map(([k, t]) => [k, t.shape, t.dtype === 'int32' ? 'int64' : t.dtype]);
  tf.dispose([...sd.values()]);
  return keys;
}

const generator = new NoDrawGenerator(); // every weight is overwritten by the formula weights

describe('resnet18 with FrozenBatchNorm2d against torchvision 0.14', () => {
  let fixture: ReturnType<typeof resnetFixture>;
  let model: ResNet;

  beforeAll(() => {
    fixture = resnetFixture('resnet18_frozen');
    model = resnet18({ normLayer: (c) => new FrozenBatchNorm2d(c), generator });
  });

  afterAll(() => {
    model.dispose();
    tf.dispose([...fixture.tensors.values()]);
  });

  it("has torchvision's keys: no num_batches_tracked", () => {
    expect(keyList(model)).toEqual(fixture.keys);
  });

  it('loads a BatchNorm2d state dict, dropping num_batches_tracked as torchvision does', () => {
    const bn = resnetFixture('resnet18');
    tf.dispose([...bn.tensors.values()]);
    const bnKeys = bn.keys;
    expect(bnKeys.filter(([k]) => k.endsWith('num_batches_tracked'))).toHaveLength(20);
    const dict = new Map(bnKeys.map(([k, s, d]) => [k, formulaTensor(k, s, d)] as [string, tf.Tensor]));
    try {
      expect(model.loadStateDict(dict)).toEqual({ missingKeys: [], unexpectedKeys: [] });
    } finally {
      tf.dispose([...dict.values()]);
    }
  });

  it('matches the logits in train mode too (frozen statistics never change)', () => {
    loadFormulaWeights(model, fixture.keys);
    model.train();
    const logits = model.forward(get(fixture.tensors, 'input'));
    expect(relErr(logits, get(fixture.tensors, 'logits'))).toBeLessThan(1e-4);
    logits.dispose();
  });
});

describe.each([
  ['a20', 'ResNet-20, option A', () => cifarResnet(20, { shortcut: 'A', generator })],
  ['b20', 'ResNet-20, option B', () => cifarResnet(20, { shortcut: 'B', generator })],
  ['plain20', 'plain-20', () => cifarResnet(20, { plain: true, generator })],
])('CIFAR %s (%s) against the akamaster-layout torch reference', (prefix, _title, build) => {
  let fixture: ReturnType<typeof resnetFixture>;
  let keys: KeyList;
  let model: CifarResNet;

  beforeAll(() => {
    fixture = resnetFixture('cifar');
    keys = JSON.parse(fixture.metadata[`${prefix}.keys`]) as KeyList;
    model = build().eval();
  });

  afterAll(() => {
    model.dispose();
    tf.dispose([...fixture.tensors.values()]);
  });

  it('has the reference state-dict keys, order and shapes', () => {
    expect(keyList(model)).toEqual(keys);
  });

  it('matches the eval-mode logits', () => {
    loadFormulaWeights(model, keys);
    const logits = model.forward(get(fixture.tensors, 'input'));
    expect(relErr(logits, get(fixture.tensors, `${prefix}.logits`))).toBeLessThan(1e-4);
    logits.dispose();
  });
});
