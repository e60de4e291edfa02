import * as tf from '@tensorflow/tfjs-core';
import { Generator } from '@residual/core';
import { BalancedPositiveNegativeSampler, Matcher } from '@residual/rpn';
import { expectNoLeak, fixturePath, loadFixture, useBackend } from '@residual/test-utils';

// Fixture: tools/fixtures/rpn.py (torchvision 0.14 Matcher). Matches must be equal.

let fx: Map<string, tf.Tensor>;
beforeAll(async () => {
  await useBackend();
  fx = loadFixture(fixturePath(`${__dirname}/..`, 'matcher.safetensors')).tensors;
});
afterAll(() => tf.dispose([...fx.values()]));

describe('Matcher', () => {
  for (const c of ['ties', 'iou']) {
    it(`matches torchvision on "${c}" with and without low-quality matches`, () => {
      const q = fx.get(`q.${c}`) as tf.Tensor2D;
      for (const [mode, allow] of [['low', true], ['plain', false]] as const) {
        const m = new Matcher(0.7, 0.3, allow).forward(q);
        expect([...m.dataSync()]).toEqual([...fx.get(`m.${c}.${mode}`)!.dataSync()]);
        m.dispose();
      }
    });
  }

  it('treats float32(0.7) as reaching the 0.7 threshold, as torch compares in float32', () => {
    expect([...new Matcher(0.7, 0.3).matchArray(Float32Array.of(0.7), 1, 1)]).toEqual([0]);
  });

  it('gives a low-quality prediction its own best gt, not the gt it ties for', () => {
    // gt 1's best (0.2) is at pred 0, whose own best gt is 0 (0.25).
    const q = Float32Array.of(0.25, 0.9, 0.2, 0.1);
    expect([...new Matcher(0.7, 0.3, true).matchArray(q, 2, 2)]).toEqual([0, 0]);
  });

  it('rejects empty matrices and inverted thresholds', () => {
    expect(() => new Matcher(0.7, 0.3).matchArray(new Float32Array(0), 0, 4)).toThrow(
      'Matcher: no ground-truth boxes available for one of the images during training',
    );
    expect(() => new Matcher(0.3, 0.7)).toThrow('Matcher: lowThreshold must be <= highThreshold, got 0.7 > 0.3');
  });

  it('leaks nothing', async () => {
    await expectNoLeak(() => new Matcher(0.7, 0.3, true).forward(fx.get('q.iou') as tf.Tensor2D));
  });
});

describe('BalancedPositiveNegativeSampler', () => {
  const labels = [Float32Array.of(1, 0, -1, 1, 0, 0, 1, 0)];

  it('takes min(#pos, ⌊batch·fraction⌋) positives and fills the batch with negatives, by permutation', () => {
    const s = new BalancedPositiveNegativeSampler(4, 0.5);
    const { positive, negative } = s.sample(labels, [{ positive: [2, 0, 1], negative: [3, 1, 0, 2] }]);
    expect([...positive[0]]).toEqual([1, 0, 0, 0, 0, 0, 1, 0]); // positives [0,3,6] → picks 6, 0
    expect([...negative[0]]).toEqual([0, 0, 0, 0, 1, 0, 0, 1]); // negatives [1,4,5,7] → picks 7, 4
  });

  it('draws from its generator without replacement, never an ignored label', () => {
    const s = new BalancedPositiveNegativeSampler(6, 0.25, new Generator(3));
    const { positive, negative } = s.sample(labels);
    expect(positive[0].reduce((a, b) => a + b, 0)).toBe(1);
    expect(negative[0].reduce((a, b) => a + b, 0)).toBe(4);
    expect(positive[0][2] + negative[0][2]).toBe(0);
    positive[0].forEach((v, i) => v && expect(labels[0][i]).toBe(1));
    negative[0].forEach((v, i) => v && expect(labels[0][i]).toBe(0));
  });

  it('rejects short or out-of-range permutations', () => {
    const s = new BalancedPositiveNegativeSampler(4, 0.5);
    expect(() => s.sample(labels, [{ positive: [0], negative: [0, 1] }])).toThrow(
      'BalancedPositiveNegativeSampler.sample: positive permutation of image 0 must hold at least 2 entries, got 1',
    );
    expect(() => s.sample(labels, [{ positive: [0, 5], negative: [0, 1] }])).toThrow(
      'BalancedPositiveNegativeSampler.sample: positive permutation of image 0 has 5, outside 0..2',
    );
    expect(() => new BalancedPositiveNegativeSampler(0, 0.5)).toThrow(
      'BalancedPositiveNegativeSampler: batchSizePerImage must be a positive integer, got 0',
    );
  });
});
