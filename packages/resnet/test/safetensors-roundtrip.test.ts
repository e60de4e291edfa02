import * as tf from '@tensorflow/tfjs-core';
import { readSafetensors, writeSafetensors } from '@residual/core';
import { maxAbsDiff, useBackend } from '@residual/test-utils';
import { resnet18, type ResNet } from '@residual/resnet';
import { NoDrawGenerator } from './test-generators.js';
import { loadFormulaWeights } from './formula-weights.js';
import { get, resnetFixture } from './fixtures.js';

beforeAll(async () => {
  await useBackend();
});

describe('resnet18 saved with stateDict → writeSafetensors', () => {
  let fixture: ReturnType<typeof resnetFixture>;
  let model: ResNet;
  let bytes: Uint8Array;

  beforeAll(() => {
    fixture = resnetFixture('resnet18');
    model = resnet18({ generator: new NoDrawGenerator() }).eval();
    loadFormulaWeights(model, fixture.keys);
    const sd = model.stateDict();
    bytes = writeSafetensors(sd);
    tf.dispose([...sd.values()]);
  });

  afterAll(() => {
    model.dispose();
    tf.dispose([...fixture.tensors.values()]);
  });

  it("holds exactly torchvision's keys, shapes and dtypes (I64 num_batches_tracked)", () => {
    const { tensors, dtypes } = readSafetensors(bytes);
    const toTorch = { F32: 'float32', I64: 'int64' } as Record<string, string>;
    const saved = [...tensors].map(([k, t]) => [k, t.shape, toTorch[dtypes.get(k) as string] ?? dtypes.get(k)]);
    const byKey = (a: unknown[], b: unknown[]): number => String(a[0]).localeCompare(String(b[0]));
    expect(saved.sort(byKey)).toEqual([...fixture.keys].sort(byKey));
    tf.dispose([...tensors.values()]);
  });

  it('loads back strictly into a fresh resnet18 and gives the same logits as torchvision', () => {
    const { tensors } = readSafetensors(bytes);
    const fresh = resnet18({ generator: new NoDrawGenerator() }).eval();
    expect(fresh.loadStateDict(tensors)).toEqual({ missingKeys: [], unexpectedKeys: [] });
    const logits = fresh.forward(get(fixture.tensors, 'input'));
    const reference = get(fixture.tensors, 'logits');
    const scale = tf.tidy(() => tf.max(tf.abs(reference)).dataSync()[0]);
    expect(maxAbsDiff(logits, reference) / scale).toBeLessThan(1e-4);
    tf.dispose([logits, ...tensors.values()]);
    fresh.dispose();
  });
});
