import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { fixturePath, loadFixture, useBackend } from '@residual/test-utils';
import {
  Conv2d,
  ConvTranspose2d,
  Generator,
  Linear,
  ValueError,
  calculateFanInAndFanOut,
  calculateGain,
  constant,
  kaimingNormal,
  kaimingUniform,
  normal,
  ones,
  truncNormal,
  uniform,
  xavierNormal,
  xavierUniform,
  zeros,
  type Module,
  type Nonlinearity,
} from '@residual/core';

// Reference: tools/fixtures/core_init.py (torch 1.13). residual's Generator is not torch's
// stream, so random inits are checked by their statistics against torch's formulas.

let metadata: Record<string, string>;
let torchSampleStd: number;

beforeAll(async () => {
  await useBackend();
  const fixture = loadFixture(fixturePath(path.resolve(__dirname, '../..'), 'init.safetensors'));
  metadata = fixture.metadata;
  torchSampleStd = fixture.tensors.get('kaiming_normal_fan_out_relu_std')!.dataSync()[0];
  tf.dispose([...fixture.tensors.values()]);
});

function stats(t: tf.Tensor): { mean: number; std: number; min: number; max: number } {
  const v = t.dataSync();
  t.dispose();
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const e of v) {
    sum += e;
    min = Math.min(min, e);
    max = Math.max(max, e);
  }
  const mean = sum / v.length;
  let sq = 0;
  for (const e of v) sq += (e - mean) ** 2;
  return { mean, std: Math.sqrt(sq / (v.length - 1)), min, max };
}

describe('fans and gains', () => {
  it('computes fanIn/fanOut as torch._calculate_fan_in_and_fan_out', () => {
    const fans = JSON.parse(metadata.fans) as [number[], number, number][];
    for (const [shape, fanIn, fanOut] of fans) expect(calculateFanInAndFanOut(shape)).toEqual({ fanIn, fanOut });
    expect(() => calculateFanInAndFanOut([5])).toThrow(
      new ValueError('calculateFanInAndFanOut: shape must have at least 2 dimensions, got [5]'),
    );
  });

  it('computes gains as torch.nn.init.calculate_gain', () => {
    const gains = JSON.parse(metadata.gains) as [Nonlinearity, number | null, number][];
    for (const [nl, param, gain] of gains) expect(calculateGain(nl, param ?? undefined)).toBeCloseTo(gain, 12);
    expect(() => calculateGain('swish' as Nonlinearity)).toThrow(new ValueError('calculateGain: unsupported nonlinearity "swish"'));
  });
});

describe('random inits follow torch\'s formulas', () => {
  const gen = (): Generator => new Generator(11);

  it('kaimingNormal fan_out/relu has std √(2/fanOut), like torch\'s own sample', () => {
    const s = stats(kaimingNormal([256, 64, 3, 3], { mode: 'fan_out', nonlinearity: 'relu' }, gen()));
    const std = Math.sqrt(2 / (256 * 9));
    expect(Math.abs(s.std / std - 1)).toBeLessThan(0.01);
    expect(Math.abs(torchSampleStd / std - 1)).toBeLessThan(0.01);
    expect(Math.abs(s.mean)).toBeLessThan(4 * (std / Math.sqrt(256 * 64 * 9)));
  });

  it('kaimingUniform is U(±gain·√(3/fanIn)); a=√5 gives the layers\' default 1/√fanIn', () => {
    const bound = Math.sqrt(2) * Math.sqrt(3 / (32 * 9));
    const s = stats(kaimingUniform([64, 32, 3, 3], {}, gen()));
    expect(s.max).toBeLessThanOrEqual(bound);
    expect(s.min).toBeGreaterThanOrEqual(-bound);
    expect(s.max).toBeGreaterThan(0.99 * bound);
    expect(Math.abs(s.std / (bound / Math.sqrt(3)) - 1)).toBeLessThan(0.02);
    const d = stats(kaimingUniform([64, 32, 3, 3], { a: Math.sqrt(5) }, gen()));
    expect(d.max).toBeLessThanOrEqual(1 / Math.sqrt(32 * 9));
    expect(d.max).toBeGreaterThan(0.99 / Math.sqrt(32 * 9));
  });

  it('xavierUniform and xavierNormal scale by gain·√(6 or 2/(fanIn+fanOut))', () => {
    const bound = 2 * Math.sqrt(6 / 500);
    const u = stats(xavierUniform([300, 200], { gain: 2 }, gen()));
    expect(u.max).toBeLessThanOrEqual(bound);
    expect(u.max).toBeGreaterThan(0.99 * bound);
    const n = stats(xavierNormal([300, 200], {}, gen()));
    expect(Math.abs(n.std / Math.sqrt(2 / 500) - 1)).toBeLessThan(0.02);
  });

  it('truncNormal stays in [a, b] with the truncated-normal mean and std', () => {
    const centre = stats(truncNormal([200, 500], {}, gen()));
    expect([centre.min >= -2, centre.max <= 2]).toEqual([true, true]);
    expect(Math.abs(centre.std / 0.87962 - 1)).toBeLessThan(0.01); // √(1 − 4φ(2)/(Φ(2) − Φ(−2)))
    const tail = stats(truncNormal([20000], { a: 3, b: 4 }, gen()));
    expect([tail.min >= 3, tail.max <= 4]).toEqual([true, true]);
    expect(tail.mean).toBeCloseTo(3.2606, 2); // (φ(3) − φ(4))/(Φ(4) − Φ(3))
    const left = stats(truncNormal([20000], { a: -4, b: -3 }, gen()));
    expect(left.mean).toBeCloseTo(-3.2606, 2);
    const narrow = stats(truncNormal([20000], { mean: 1, std: 0.02, a: -2, b: 2 }, gen()));
    expect(Math.abs(narrow.std / 0.02 - 1)).toBeLessThan(0.03);
    expect(() => truncNormal([2], { a: 1, b: 1 })).toThrow(new ValueError('truncNormal: a must be < b, got a=1, b=1'));
  });

  it('normal, uniform, zeros, ones and constant fill a torch-shaped float32 tensor', () => {
    const n = stats(normal([40000], { mean: 3, std: 0.5 }, gen()));
    expect(n.mean).toBeCloseTo(3, 2);
    expect(n.std).toBeCloseTo(0.5, 2);
    const u = stats(uniform([40000], { low: -1, high: 3 }, gen()));
    expect([u.min >= -1, u.max < 3, Math.abs(u.mean - 1) < 0.03]).toEqual([true, true, true]);
    const filled = [zeros([2, 1]), ones([2, 1]), constant([2, 1], 7)];
    expect(filled.map((t) => [t.dtype, t.shape, Array.from(t.dataSync())])).toEqual([
      ['float32', [2, 1], [0, 0]],
      ['float32', [2, 1], [1, 1]],
      ['float32', [2, 1], [7, 7]],
    ]);
    tf.dispose(filled);
  });
});

describe('default layer init matches torch\'s bounds', () => {
  it('Conv2d, grouped Conv2d, ConvTranspose2d and Linear reach torch\'s max |weight| and |bias|', () => {
    const bounds = JSON.parse(metadata.bounds) as [string, number[], number, number][];
    const layers: Record<string, () => Module & { weight: tf.Variable; bias: tf.Variable | null }> = {
      'Conv2d(64,128,3)': () => new Conv2d(64, 128, 3, { generator: new Generator(2) }),
      'Conv2d(8,16,3,groups=4)': () => new Conv2d(8, 16, 3, { groups: 4, generator: new Generator(2) }),
      'ConvTranspose2d(16,32,2)': () => new ConvTranspose2d(16, 32, 2, { generator: new Generator(2) }),
      'Linear(100,300)': () => new Linear(100, 300, { generator: new Generator(2) }),
    };
    for (const [name, torchShape, torchMaxW, torchMaxB] of bounds) {
      const layer = layers[name]();
      const sd = layer.stateDict();
      expect(sd.get('weight')!.shape).toEqual(torchShape);
      tf.dispose([...sd.values()]);
      const maxW = tf.tidy(() => tf.max(tf.abs(layer.weight)).dataSync()[0]);
      const maxB = tf.tidy(() => tf.max(tf.abs(layer.bias!)).dataSync()[0]);
      // Both are maxima of many U(−b, b) draws: within a few % of b and of each other.
      expect(Math.abs(maxW / torchMaxW - 1)).toBeLessThan(0.02);
      const fanIn = torchShape.slice(1).reduce((a, b) => a * b, 1);
      expect(maxB).toBeLessThanOrEqual(1 / Math.sqrt(fanIn));
      expect(torchMaxB).toBeLessThanOrEqual(1 / Math.sqrt(fanIn));
      layer.dispose();
    }
  });
});
