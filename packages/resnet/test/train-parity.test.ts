import * as tf from '@tensorflow/tfjs-core';
import { conv2dLayout, linearLayout } from '@residual/core';
import { maxAbsDiff, useBackend } from '@residual/test-utils';
import { BasicBlock, ResNet } from '@residual/resnet';
import { NoDrawGenerator } from './test-generators.js';
import { loadFormulaWeights } from './formula-weights.js';
import { get, resnetFixture } from './fixtures.js';

beforeAll(async () => {
  await useBackend();
});

// Errors relative to the largest reference value; 1e-4 of it is the budget. Train-mode BatchNorm divides
// by batch standard deviations, which amplifies rounding (torch's own fp32 and fp64 logits differ by
// 7e-6 here). Measured on wasm: logits 8e-6, gradients ≤ 3.3e-5, running statistics 1.2e-6.
function relErr(actual: tf.Tensor, expected: tf.Tensor): number {
  const scale = tf.tidy(() => tf.max(tf.abs(expected)).dataSync()[0]);
  return maxAbsDiff(actual, expected) / scale;
}

function toTorchLayout(t: tf.Tensor): tf.Tensor {
  if (t.rank === 4) return conv2dLayout.toTorch(t);
  if (t.rank === 2) return linearLayout.toTorch(t);
  return tf.clone(t);
}

describe('ResNet(BasicBlock, [1,1,1,1]) in train mode against torchvision 0.14', () => {
  let fixture: ReturnType<typeof resnetFixture>;
  let gradKeys: string[];
  let model: ResNet;
  let logits: tf.Tensor;
  let grads: Record<string, tf.Tensor>;

  beforeAll(() => {
    fixture = resnetFixture('tiny_train');
    gradKeys = JSON.parse(fixture.metadata.grad_keys) as string[];
    model = new ResNet(BasicBlock, [1, 1, 1, 1], { numClasses: 5, generator: new NoDrawGenerator() });
    loadFormulaWeights(model, fixture.keys);
    model.train();
    const x = tf.variable(get(fixture.tensors, 'input'), true, 'tiny_train_input');
    const params = model.namedParameters();
    const varList = [...gradKeys.map((k) => params.get(k) as tf.Variable), x];
    const weights = get(fixture.tensors, 'loss_weights');
    // One forward only: it is also the one that updates the running statistics.
    const { grads: byName } = tf.variableGrads(() => {
      const out = model.forward(x as unknown as tf.Tensor4D);
      logits = tf.keep(out); // disposed in afterAll
      return tf.sum(tf.mul(out, weights)) as tf.Scalar;
    }, varList);
    grads = { input: byName[x.name] };
    gradKeys.forEach((k, i) => {
      grads[k] = tf.tidy(() => toTorchLayout(byName[varList[i].name]));
    });
    tf.dispose(gradKeys.map((_, i) => byName[varList[i].name]));
    x.dispose();
  });

  afterAll(() => {
    tf.dispose([logits, ...Object.values(grads), ...fixture.tensors.values()]);
    model.dispose();
  });

  it('computes the logits with batch statistics', () => {
    expect(relErr(logits, get(fixture.tensors, 'logits'))).toBeLessThan(1e-4);
  });

  it('updates every running_mean, running_var and num_batches_tracked as torch does', () => {
    const sd = model.stateDict();
    try {
      const stats = [...sd.keys()].filter((k) => /running_(mean|var)$/.test(k));
      expect(stats).toHaveLength(2 * 12); // bn1 + 2 per block ×4 + 1 per downsample (layer2..4)
      const errors = stats.map((k) => [k, relErr(sd.get(k) as tf.Tensor, get(fixture.tensors, `after.${k}`))] as const);
      expect(errors.filter(([, e]) => !(e < 1e-5))).toEqual([]);
      const counts = [...sd.keys()].filter((k) => k.endsWith('num_batches_tracked'));
      for (const k of counts) expect([k, (sd.get(k) as tf.Tensor).dataSync()[0]]).toEqual([k, 1]);
    } finally {
      tf.dispose([...sd.values()]);
    }
  });

  it('gives the gradients of Σ logits·w w.r.t. the input and the parameters', () => {
    const errors = ['input', ...gradKeys].map((k) => [k, relErr(grads[k], get(fixture.tensors, `grad.${k}`))] as const);
    expect(errors.filter(([, e]) => !(e < 1e-4))).toEqual([]);
  });
});
