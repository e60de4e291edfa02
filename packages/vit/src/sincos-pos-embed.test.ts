import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { ValueError } from '@residual/core';
import { expectAllClose, expectNoLeak, fixturePath, loadFixture, useBackend } from '@residual/test-utils';
import { get2dSincosPosEmbed } from './sincos-pos-embed.js';

describe('get2dSincosPosEmbed', () => {
  beforeAll(async () => {
    await useBackend();
  });

  it('puts sin/cos of the column first and of the row second, with a zero cls row', () => {
    // E = 4 → one frequency ω = 1; token (i, j) = [sin j, cos j, sin i, cos i].
    const t = get2dSincosPosEmbed(4, 2, true);
    expect(t.shape).toEqual([5, 4]);
    expect(t.dtype).toBe('float32');
    const [s1, c1] = [Math.fround(Math.sin(1)), Math.fround(Math.cos(1))];
    expect(Array.from(t.dataSync())).toEqual([
      0, 0, 0, 0, // cls
      0, 1, 0, 1, // (0, 0)
      s1, c1, 0, 1, // (0, 1)
      0, 1, s1, c1, // (1, 0)
      s1, c1, s1, c1, // (1, 1)
    ]);
    t.dispose();
  });

  it('uses ω_k = 1/10000^(k/(E/4)) and omits the cls row by default', () => {
    const t = get2dSincosPosEmbed(8, 3);
    expect(t.shape).toEqual([9, 8]);
    const row = t.arraySync()[1]; // (i 0, j 1)
    expectAllClose(row, [Math.sin(1), Math.sin(0.01), Math.cos(1), Math.cos(0.01), 0, 0, 1, 1], { rtol: 0, atol: 1e-7 });
    t.dispose();
  });

  it('equals the official get_2d_sincos_pos_embed(768, 14, cls_token=True) in float32', () => {
    const { tensors, metadata } = loadFixture(fixturePath(path.join(__dirname, '..'), 'sincos_base.safetensors'));
    const rows: number[] = JSON.parse(metadata.rows);
    const table = get2dSincosPosEmbed(768, 14, true);
    expect(table.shape).toEqual([197, 768]);
    const values = table.arraySync();
    // float64 sin/cos of Math and numpy may differ in the last float64 bit: at most one float32 ulp.
    expectAllClose(rows.flatMap((r) => values[r]), tensors.get('rows') as tf.Tensor, { rtol: 0, atol: 1e-7 });
    const rowSums = values.map((r) => r.reduce((a, b) => a + b, 0));
    const colSums = values[0].map((_, c) => values.reduce((a, r) => a + r[c], 0));
    // float64 checksums over the whole table, stored as float32 hi + lo parts
    const sums = (name: string): number[] => {
      const hi = (tensors.get(`${name}_hi`) as tf.Tensor).dataSync();
      const lo = (tensors.get(`${name}_lo`) as tf.Tensor).dataSync();
      return Array.from(hi, (h, i) => h + lo[i]);
    };
    expectAllClose(rowSums, sums('row_sums'), { rtol: 0, atol: 1e-9 });
    expectAllClose(colSums, sums('col_sums'), { rtol: 0, atol: 1e-9 });
    table.dispose();
    for (const t of tensors.values()) t.dispose();
  });

  it('returns one tensor and leaks nothing', async () => {
    await expectNoLeak(() => get2dSincosPosEmbed(16, 4, true));
  });

  it('rejects an embedDim that is not a multiple of 4', () => {
    expect(() => get2dSincosPosEmbed(6, 2)).toThrow(ValueError);
    expect(() => get2dSincosPosEmbed(6, 2)).toThrow('get2dSincosPosEmbed: embedDim must be a positive multiple of 4, got 6');
  });
});
