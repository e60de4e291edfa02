import * as tf from '@tensorflow/tfjs-core';
import { maxAbsDiff, useBackend } from '@residual/test-utils';
import {
  Bottleneck,
  ResNet,
  resnet18,
  resnet50,
  resnext50_32x4d,
  type ResNetFeatures,
} from '@residual/resnet';
import { NoDrawGenerator } from './test-generators.js';
import { loadFormulaWeights, type KeyList } from './formula-weights.js';
import { get, resnetFixture } from './fixtures.js';

beforeAll(async () => {
  await useBackend();
});

// fp32 convs sum in a different order than torch's: errors are measured relative to the largest
// reference value of each tensor; 1e-4 of it is the budget (parity-spec §12). Measured on wasm: ≤ 1.5e-6.
function relErr(actual: tf.Tensor, expected: tf.Tensor): number {
  const scale = tf.tidy(() => tf.max(tf.abs(expected)).dataSync()[0]);
  return maxAbsDiff(actual, expected) / scale;
}

function torchKeyList(model: ResNet): KeyList {
  const sd = model.stateDict();
  const keys: KeyList = [...sd].map(([k, t]) => [k, t.shape, t.dtype === 'int32' ? 'int64' : t.dtype]);
  tf.dispose([...sd.values()]);
  return keys;
}

const generator = new NoDrawGenerator(); // every weight is overwritten by the formula weights
const cases: Array<[string, () => ResNet]> = [
  ['resnet18', () => resnet18({ generator })],
  ['resnet50', () => resnet50({ generator })],
  ['resnext50_32x4d', () => resnext50_32x4d({ generator })],
  // wide_resnet50_2's widths with one block per stage (the full model costs ~10 s more on wasm).
  ['wide_resnet_1111', () => new ResNet(Bottleneck, [1, 1, 1, 1], { widthPerGroup: 128, generator })],
  [
    'tiny_dilated',
    () => new ResNet(Bottleneck, [1, 1, 1, 1], { numClasses: 7, replaceStrideWithDilation: [false, true, true], generator }),
  ],
];

describe.each(cases)('%s against torchvision 0.14 (formula weights, eval mode)', (name, build) => {
  let model: ResNet;
  let fixture: ReturnType<typeof resnetFixture>;

  beforeAll(() => {
    fixture = resnetFixture(name);
    model = build().eval();
  });

  afterAll(() => {
    model.dispose();
    tf.dispose([...fixture.tensors.values()]);
  });

  it("has torchvision's state-dict keys, in its order, with its shapes and dtypes", () => {
    expect(torchKeyList(model)).toEqual(fixture.keys);
  });

  it('matches the logits and the layer1..layer4 features within 1e-4 relative', () => {
    loadFormulaWeights(model, fixture.keys);
    const x = get<tf.Tensor4D>(fixture.tensors, 'input');
    const logits = model.forward(x);
    const feats: ResNetFeatures = model.forwardFeatures(x);
    try {
      for (const [k, v] of Object.entries(feats)) expect([k, v.shape]).toEqual([k, get(fixture.tensors, k).shape]);
      const errors = Object.entries({ logits, ...feats }).map(([k, v]) => [k, relErr(v, get(fixture.tensors, k))] as const);
      expect(errors.filter(([, e]) => !(e < 1e-4))).toEqual([]);
    } finally {
      tf.dispose([logits, feats]);
    }
  });
});
