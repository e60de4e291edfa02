import * as tf from '@tensorflow/tfjs-core';
import { expectNoLeak, useBackend } from '@residual/test-utils';
import { DropPath, Dropout, Generator, ValueError } from '@residual/core';

beforeAll(async () => {
  await useBackend();
});

describe('Dropout', () => {
  it('zeroes about p of the elements in training and scales the rest by 1/(1−p)', async () => {
    const drop = new Dropout(0.25, { generator: new Generator(7) });
    const x = tf.ones([100, 100]);
    await expectNoLeak(() => {
      const y = drop.forward(x);
      const v = y.dataSync();
      const zeros = v.filter((e) => e === 0).length;
      expect(zeros / v.length).toBeGreaterThan(0.23);
      expect(zeros / v.length).toBeLessThan(0.27);
      expect(new Set(v)).toEqual(new Set([0, Math.fround(1 / 0.75)]));
      return y;
    });
    x.dispose();
  });

  it('draws the same mask from the same seed and is a clone in eval mode', () => {
    const x = tf.ones([4, 8]);
    const a = new Dropout(0.5, { generator: new Generator(1) }).forward(x);
    const b = new Dropout(0.5, { generator: new Generator(1) }).forward(x);
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    const evaluated = new Dropout(0.5).eval().forward(x);
    expect(Array.from(evaluated.dataSync())).toEqual(new Array(32).fill(1));
    tf.dispose([x, a, b, evaluated]);
  });

  it('rejects p outside [0, 1]', () => {
    expect(() => new Dropout(1.5)).toThrow(new ValueError('Dropout: p must be in [0, 1], got 1.5'));
  });
});

describe('DropPath', () => {
  it('drops whole samples: each row is all zeros or all 1/(1−p)', async () => {
    const drop = new DropPath(0.5, { generator: new Generator(3) });
    const x = tf.ones([64, 3, 5]);
    await expectNoLeak(() => {
      const y = drop.forward(x);
      const rows = (tf.tidy(() => tf.reshape(y, [64, 15]).arraySync()) as number[][]).map((r) => new Set(r));
      expect(rows.every((r) => r.size === 1 && (r.has(0) || r.has(2)))).toBe(true);
      const dropped = rows.filter((r) => r.has(0)).length;
      expect(dropped).toBeGreaterThan(16);
      expect(dropped).toBeLessThan(48);
      return y;
    });
    x.dispose();
  });

  it('is a clone in eval mode or with p = 0', () => {
    const x = tf.tensor2d([[1, 2]]);
    const a = new DropPath(0.9).eval().forward(x);
    const b = new DropPath(0).forward(x);
    expect(a.arraySync()).toEqual([[1, 2]]);
    expect(b.arraySync()).toEqual([[1, 2]]);
    tf.dispose([x, a, b]);
  });
});
