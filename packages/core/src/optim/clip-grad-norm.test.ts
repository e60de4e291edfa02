import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { expectAllClose, expectNoLeak, fixturePath, loadFixture, useBackend } from '@residual/test-utils';
import { ValueError, clipGradNorm } from '@residual/core';

// Reference: tools/fixtures/core_optim.py — torch.nn.utils.clip_grad_norm_ on the first stored gradients.
let fixture: ReturnType<typeof loadFixture>;
let cases: Record<string, { maxNorm: number; normType: number | 'inf' }>;

beforeAll(async () => {
  await useBackend();
  fixture = loadFixture(fixturePath(path.join(__dirname, '..', '..'), 'optim.safetensors'));
  cases = JSON.parse(fixture.metadata.cases);
});

afterAll(() => {
  tf.dispose([...fixture.tensors.values()]);
});

/** grads.<i>[0] for the three parameters, keyed by name. */
function firstGrads(): Record<string, tf.Tensor> {
  return Object.fromEntries(
    [0, 1, 2].map((i) => [`p${i}`, tf.squeeze(tf.slice(fixture.tensors.get(`grads.${i}`)!, [0], [1]), [0])]),
  );
}

describe('clipGradNorm matches torch.nn.utils.clip_grad_norm_', () => {
  it.each([
    ['l2', 'scales by maxNorm / (‖g‖₂ + 1e-6) when the norm is above maxNorm'],
    ['l2_noclip', 'multiplies by exactly 1 when the norm is below maxNorm'],
    ['inf', 'uses the largest |g| for normType Infinity'],
    ['l1', 'sums |g| for normType 1'],
    ['p3', 'takes the p-norm of the per-tensor norms for normType 3'],
  ])('%s: %s', async (name) => {
    const { maxNorm, normType } = cases[`clip.${name}`];
    const grads = firstGrads();
    const { totalNorm } = await expectNoLeak(() => {
      const out = clipGradNorm(grads, maxNorm, normType === 'inf' ? Infinity : normType);
      [0, 1, 2].forEach((i) =>
        expectAllClose(out.grads[`p${i}`], fixture.tensors.get(`clip.${name}.grads.${i}`)!, { rtol: 1e-5, atol: 1e-7 }),
      );
      return out;
    });
    const torchNorm = fixture.tensors.get(`clip.${name}.total_norm`)!.dataSync()[0];
    expect(Math.abs(totalNorm - torchNorm)).toBeLessThanOrEqual(1e-5 * torchNorm);
    // The inputs are borrowed: still alive and unchanged in shape.
    expect(Object.values(grads).every((g) => !g.isDisposed)).toBe(true);
    tf.dispose(Object.values(grads));
  });

  it('keeps Map keys (the variables) when given a Map', () => {
    const v = tf.variable(tf.zeros([2]));
    const g = tf.tensor1d([3, 4]);
    const { grads, totalNorm } = clipGradNorm(new Map([[v, g]]), 1);
    expect(totalNorm).toBeCloseTo(5, 6);
    expectAllClose(grads.get(v)!, [0.6, 0.8], { rtol: 1e-6, atol: 0 });
    tf.dispose([v, g, ...grads.values()]);
  });

  it("adds torch's 1e-6 to the norm: ‖g‖ = 5e-6, maxNorm 1e-6 scales by 1/6, not 1/5", () => {
    const g = tf.tensor1d([3e-6, 4e-6]);
    const { grads, totalNorm } = clipGradNorm({ g }, 1e-6);
    expect(totalNorm).toBeCloseTo(5e-6, 12);
    expectAllClose(grads.g, [0.5e-6, (4 / 6) * 1e-6], { rtol: 1e-5, atol: 0 });
    tf.dispose([g, grads.g]);
  });

  it('returns a zero norm and no gradients for an empty map', () => {
    expect(clipGradNorm({}, 1)).toEqual({ grads: {}, totalNorm: 0 });
  });

  it('rejects a non-positive normType and, on request, a non-finite total norm', () => {
    const g = tf.tensor1d([NaN, 1]);
    expect(() => clipGradNorm({ g }, 1, 0)).toThrow(
      new ValueError('clipGradNorm: normType must be > 0 or Infinity, got 0'),
    );
    const before = tf.memory().numTensors;
    expect(() => clipGradNorm({ g }, 1, 2, { errorIfNonfinite: true })).toThrow(
      new ValueError(
        'clipGradNorm: the total norm of order 2 of the gradients is non-finite (NaN); pass errorIfNonfinite: false to scale by it anyway',
      ),
    );
    expect(tf.memory().numTensors).toBe(before);
    g.dispose();
  });
});
