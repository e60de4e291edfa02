import * as fs from 'node:fs';
import * as path from 'node:path';
import { fixturePath } from '@residual/test-utils';
import { ValueError, compressRle, rleFromString, rleToString, type Rle } from '@residual/core';

type Fixture = {
  encode: { name: string; size: [number, number]; mask: string; counts: string }[];
  uncompressed: { name: string; size: [number, number]; uncompressed: number[]; counts: string }[];
};
const fx = JSON.parse(
  fs.readFileSync(fixturePath(path.join(__dirname, '..', '..'), 'mask.json'), 'utf8'),
) as Fixture;

describe('rleToString', () => {
  it('writes each of the first three runs as is (hand-computed: [1,1,1,2,1] → "11110")', () => {
    // run 3 is stored as 2 − counts[1] = 1 and run 4 as 1 − counts[2] = 0
    expect(rleToString({ size: [3, 2], counts: [1, 1, 1, 2, 1] })).toBe('11110');
  });

  it('stores a negative difference with the sign bit (hand-computed: [5,3,10,1] → "53:N")', () => {
    // run 3: 1 − 3 = −2 → low 5 bits 0b11110 (sign bit set, no continuation) → 30 + 48 = 'N'
    expect(rleToString({ size: [19, 1], counts: [5, 3, 10, 1] })).toBe('53:N');
  });

  it('uses continuation characters for runs ≥ 16 (pycocotools: [1000,100] → "Xo0T3")', () => {
    expect(rleToString({ size: [1, 1100], counts: [1000, 100] })).toBe('Xo0T3');
  });

  it('matches pycocotools for uncompressed RLEs with zero-length runs', () => {
    for (const c of fx.uncompressed) {
      expect([c.name, rleToString({ size: c.size, counts: c.uncompressed })]).toEqual([c.name, c.counts]);
    }
  });

  it('round-trips a mask with over 10^4 runs (longer than one fromCharCode slice)', () => {
    // 22500 runs of one pixel: runs 0..2 are '1', every later difference is 0 → '0'
    const counts = Array.from({ length: 150 * 150 }, () => 1);
    const rle = { size: [150, 150] as [number, number], counts };
    const s = rleToString(rle);
    expect(s).toBe('111' + '0'.repeat(22497));
    expect(rleFromString(s, [150, 150]).counts).toEqual(counts);
  });

  it('returns a string counts unchanged after validating it', () => {
    expect(rleToString({ size: [3, 2], counts: '11110' })).toBe('11110');
    expect(() => rleToString({ size: [3, 3], counts: '11110' })).toThrow(
      'rleToString: rle.counts must sum to h·w = 9 for size [3,3], got 6',
    );
  });
});

describe('rleFromString', () => {
  it('inverts rleToString on every pycocotools string of the fixture', () => {
    for (const c of [...fx.encode, ...fx.uncompressed]) {
      const rle = rleFromString(c.counts, c.size);
      expect(rle.size).toEqual(c.size);
      expect([c.name, rleToString(rle)]).toEqual([c.name, c.counts]);
    }
  });

  it('decodes differences against the run two places back only from the fourth run on', () => {
    expect(rleFromString('53:N', [19, 1]).counts).toEqual([5, 3, 10, 1]);
    expect(rleFromString('030O?', [4, 5]).counts).toEqual([0, 3, 0, 2, 15]);
  });

  it('decodes the empty string to no runs for an empty image', () => {
    expect(rleFromString('', [0, 0])).toEqual({ size: [0, 0], counts: [] });
  });

  it('rejects a character outside "0".."o"', () => {
    expect(() => rleFromString('11p10', [3, 2])).toThrow(
      new ValueError(`rleFromString: counts is corrupt: character 2 is "p", expected '0'..'o'`),
    );
    expect(() => rleFromString('1 110', [3, 2])).toThrow(ValueError);
  });

  it('rejects a string that ends inside a number', () => {
    // 'X' = 40 has the continuation bit 0x20 set
    expect(() => rleFromString('11X', [3, 2])).toThrow(
      'rleFromString: counts is corrupt: the number starting at character 2 is unterminated',
    );
  });

  it('rejects a negative run', () => {
    // third run difference −2 against counts[1] = 1
    expect(() => rleFromString('111N', [3, 1])).toThrow('rleFromString: counts is corrupt: run 3 decodes to -1, expected ≥ 0');
  });

  it('rejects runs that do not cover the size exactly', () => {
    expect(() => rleFromString('11110', [3, 3])).toThrow(
      'rleFromString: counts must sum to h·w = 9 for size [3,3], got 6',
    );
  });

  it('rejects a malformed size', () => {
    expect(() => rleFromString('1', [1.5, 2] as unknown as [number, number])).toThrow(
      'rleFromString: rle.size must be [h, w] (non-negative integers), got [1.5,2]',
    );
  });
});

describe('compressRle', () => {
  it('returns the same RLE with string counts', () => {
    const rle: Rle = { size: [3, 2], counts: [1, 1, 1, 2, 1] };
    expect(compressRle(rle)).toEqual({ size: [3, 2], counts: '11110' });
    expect(rle.counts).toEqual([1, 1, 1, 2, 1]);
  });
});
