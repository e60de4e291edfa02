import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
// Gradients are not registered by tfjs-core's main entry (see the report: core should do it once).
import { expectAllClose, expectNoLeak, fixturePath, loadFixture, maxAbsDiff, useBackend } from '@residual/test-utils';
import { binaryCrossEntropyWithLogits, crossEntropy, l1Loss, mseLoss, smoothL1Loss } from '@residual/core';

// Reference: tools/fixtures/core_loss.py (torch 1.13 forward values and input gradients).
// Loaded in beforeAll: tensors need the backend.
let fixture: ReturnType<typeof loadFixture>;
let cases: Record<string, { fn: string; options: Record<string, unknown> }>;
const get = (name: string, key: string): tf.Tensor | undefined => fixture.tensors.get(`${name}.${key}`);

type LossCall = (x: tf.Tensor) => tf.Tensor;

function lossOf(name: string): LossCall {
  const { fn, options } = cases[name];
  const target = get(name, 'target')!;
  const weight = get(name, 'weight') as tf.Tensor1D | undefined;
  const posWeight = get(name, 'pos_weight');
  switch (fn) {
    case 'crossEntropy':
      return (x) => crossEntropy(x as tf.Tensor2D, target as tf.Tensor1D, { ...options, weight });
    case 'binaryCrossEntropyWithLogits':
      return (x) => binaryCrossEntropyWithLogits(x, target, { ...options, posWeight });
    case 'smoothL1Loss':
      return (x) => smoothL1Loss(x, target, options);
    case 'l1Loss':
      return (x) => l1Loss(x, target, options);
    case 'mseLoss':
      return (x) => mseLoss(x, target, options);
    default:
      throw new Error(`unknown fixture loss ${fn}`);
  }
}

const worst = { output: 0, grad: 0 };

/** Forward value and d(output · upstream)/d input against torch, 1e-5 relative (fp32). */
async function expectMatchesTorch(name: string): Promise<void> {
  const loss = lossOf(name);
  const input = get(name, 'input')!;
  await expectNoLeak(() => {
    const out = loss(input);
    expectAllClose(out, get(name, 'output')!, { rtol: 1e-5, atol: 1e-6 });
    worst.output = Math.max(worst.output, maxAbsDiff(out, get(name, 'output')!));
    return out;
  });
  const grad = tf.grad(loss)(input, get(name, 'upstream')!);
  expectAllClose(grad, get(name, 'grad')!, { rtol: 1e-5, atol: 1e-6 });
  worst.grad = Math.max(worst.grad, maxAbsDiff(grad, get(name, 'grad')!));
  grad.dispose();
}

beforeAll(async () => {
  await useBackend();
  fixture = loadFixture(fixturePath(path.join(__dirname, '..', '..'), 'loss.safetensors'));
  cases = JSON.parse(fixture.metadata.cases);
});

afterAll(() => {
  tf.dispose([...fixture.tensors.values()]);
  // Recorded for the report: the largest deviation from torch over every case.
  expect(worst.output).toBeLessThan(1e-5);
  expect(worst.grad).toBeLessThan(1e-5);
  if (process.env.RESIDUAL_REPORT) process.stdout.write(`loss max abs diff: ${JSON.stringify(worst)}\n`);
});

describe('crossEntropy matches torch', () => {
  it.each(['ce_mean', 'ce_sum', 'ce_none'])('averages over non-ignored targets (-100) for %s', (name) =>
    expectMatchesTorch(name));
  it('ignores a target equal to a valid class index when ignoreIndex names it', () =>
    expectMatchesTorch('ce_ignore_index_2'));
  it.each(['ce_smoothing_mean', 'ce_smoothing_sum', 'ce_smoothing_none'])('applies label smoothing (%s)', (name) =>
    expectMatchesTorch(name));
  it.each(['ce_weight_mean', 'ce_weight_sum', 'ce_weight_none'])(
    'weights classes and divides the mean by the summed target weights (%s)',
    (name) => expectMatchesTorch(name),
  );
  it.each(['ce_weight_smoothing_mean', 'ce_weight_smoothing_sum', 'ce_weight_smoothing_none'])(
    'combines class weights with label smoothing as torch (%s)',
    (name) => expectMatchesTorch(name),
  );
  it('returns NaN for the mean when every target is ignored', () => {
    const out = lossOf('ce_all_ignored')(get('ce_all_ignored', 'input')!);
    expect(Number.isNaN(get('ce_all_ignored', 'output')!.dataSync()[0])).toBe(true);
    expect(Number.isNaN(out.dataSync()[0])).toBe(true);
    out.dispose();
  });
});

describe('binaryCrossEntropyWithLogits matches torch', () => {
  it.each(['bce_mean', 'bce_sum', 'bce_none'])(
    'is stable for saturated logits and has gradient σ(z) − t at z = 0 (%s)',
    (name) => expectMatchesTorch(name),
  );
  it.each(['bce_pos_weight_mean', 'bce_pos_weight_sum', 'bce_pos_weight_none'])(
    'scales the positive term by posWeight (%s)',
    (name) => expectMatchesTorch(name),
  );
});

describe('smoothL1Loss matches torch', () => {
  const names = ['1.0000', '0.5000', '0.1111', '0.0000'].flatMap((beta) =>
    ['mean', 'sum', 'none'].map((r) => `smooth_l1_beta${beta}_${r}`),
  );
  it.each(names)('is quadratic below beta and linear above, ties at x = y included (%s)', (name) =>
    expectMatchesTorch(name));
});

describe('l1Loss and mseLoss match torch', () => {
  it.each(['l1_mean', 'l1_sum', 'l1_none'])('l1Loss has gradient 0 where input equals target (%s)', (name) =>
    expectMatchesTorch(name));
  it.each(['mse_mean', 'mse_sum', 'mse_none'])('mseLoss (%s)', (name) => expectMatchesTorch(name));
});
