import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { expectNoLeak, fixturePath, useBackend } from '@residual/test-utils';
import {
  ShapeError,
  ValueError,
  maskToRle,
  rleArea,
  rleDecode,
  rleFromString,
  rleToBbox,
  rleToMask,
  rleToString,
  type Rle,
} from '@residual/core';

type Case = { name: string; size: [number, number]; mask: string; counts: string; area: number; bbox: number[] };
type Fixture = { encode: Case[]; uncompressed: (Case & { uncompressed: number[] })[] };
const fx = JSON.parse(
  fs.readFileSync(fixturePath(path.join(__dirname, '..', '..'), 'mask.json'), 'utf8'),
) as Fixture;
const bits = (s: string): Uint8Array => Uint8Array.from(s, (ch) => (ch === '1' ? 1 : 0));

// [[0,1],[1,1],[0,0]] read down the columns: 0 1 0 | 1 1 0
const small = Uint8Array.of(0, 1, 1, 1, 0, 0);
const smallRle: Rle = { size: [3, 2], counts: [1, 1, 1, 2, 1] };

beforeAll(async () => {
  await useBackend();
});

describe('maskToRle', () => {
  it('runs down the columns, starting with a background run (hand-computed)', () => {
    expect(maskToRle(small, [3, 2])).toEqual(smallRle);
    expect(maskToRle(Uint8Array.of(1, 0, 0, 0), [2, 2])).toEqual({ size: [2, 2], counts: [0, 1, 3] });
  });

  it('matches pycocotools encode on every fixture mask (empty, full, single pixels, borders, odd sizes)', () => {
    for (const c of fx.encode) {
      expect([c.name, rleToString(maskToRle(bits(c.mask), c.size))]).toEqual([c.name, c.counts]);
    }
  });

  it('treats any nonzero value as foreground', () => {
    expect(maskToRle(Float32Array.of(0, -2, 0.5, 7, 0, 0), [3, 2])).toEqual(smallRle);
    expect(maskToRle([0, 3, 3, 1, 0, 0], [3, 2])).toEqual(smallRle);
  });

  it('reads a Tensor2D of any dtype without disposing it or leaking', async () => {
    for (const dtype of ['bool', 'int32', 'float32'] as const) {
      const t = tf.tensor2d(small, [3, 2], dtype);
      const rle = await expectNoLeak(() => maskToRle(t));
      expect(rle).toEqual(smallRle);
      expect(t.isDisposed).toBe(false);
      t.dispose();
    }
  });

  it('gives one run for a zero-sized mask, as pycocotools', () => {
    expect(maskToRle(new Uint8Array(0), [0, 4])).toEqual({ size: [0, 4], counts: [0] });
  });

  it('rejects an array whose length is not h·w', () => {
    expect(() => maskToRle(new Uint8Array(5), [3, 2])).toThrow(
      new ShapeError('maskToRle: mask must have h·w = 6 elements for shape [3,2], got 5'),
    );
  });

  it('rejects an array without a shape and a tensor that is not 2-D', () => {
    expect(() => (maskToRle as unknown as (m: Uint8Array) => Rle)(small)).toThrow(
      new ValueError('maskToRle: shape [h, w] is required with an array mask'),
    );
    const t = tf.zeros([2, 3, 1]);
    expect(() => maskToRle(t as unknown as tf.Tensor2D)).toThrow(new ShapeError('maskToRle: mask must be [H,W], got [2,3,1]'));
    t.dispose();
  });
});

describe('rleDecode', () => {
  it('returns the row-major mask (hand-computed)', () => {
    expect(rleDecode(smallRle)).toEqual(small);
    expect(rleDecode({ size: [3, 2], counts: '11110' })).toEqual(small);
  });

  it('matches pycocotools decode on every fixture string, including zero-length runs', () => {
    for (const c of [...fx.encode, ...fx.uncompressed]) {
      expect([c.name, rleDecode({ size: c.size, counts: c.counts })]).toEqual([c.name, bits(c.mask)]);
    }
  });

  it('rejects counts that do not sum to h·w, negative or fractional runs', () => {
    expect(() => rleDecode({ size: [3, 2], counts: [1, 1, 1, 2] })).toThrow(
      new ValueError('rleDecode: rle.counts must sum to h·w = 6 for size [3,2], got 5'),
    );
    expect(() => rleDecode({ size: [3, 2], counts: [1, -1, 6] })).toThrow(
      'rleDecode: rle.counts[1] must be a non-negative integer, got -1',
    );
    expect(() => rleDecode({ size: [3, 2], counts: [1.5, 4.5] })).toThrow(
      'rleDecode: rle.counts[0] must be a non-negative integer, got 1.5',
    );
  });

  it('rejects a wrong size', () => {
    expect(() => rleDecode({ size: [3] as unknown as [number, number], counts: [3] })).toThrow(
      'rleDecode: rle.size must be [h, w] (non-negative integers), got [3]',
    );
  });
});

describe('rleToMask', () => {
  it('decodes to a Tensor2D [H,W] of the requested dtype (int32 by default), owned by the caller', async () => {
    const t = await expectNoLeak(() => rleToMask(smallRle));
    expect(t.shape).toEqual([3, 2]);
    expect(t.dtype).toBe('int32');
    for (const dtype of ['bool', 'float32', 'int32'] as const) {
      const m = rleToMask({ size: [3, 2], counts: '11110' }, dtype);
      expect(m.dtype).toBe(dtype);
      expect(Array.from(m.dataSync())).toEqual([0, 1, 1, 1, 0, 0]);
      m.dispose();
    }
  });
});

describe('rleArea', () => {
  it('sums the foreground runs, for one RLE or a list (pycocotools area)', () => {
    expect(rleArea(smallRle)).toBe(3);
    const all = [...fx.encode, ...fx.uncompressed];
    expect(rleArea(all.map((c) => ({ size: c.size, counts: c.counts })))).toEqual(all.map((c) => c.area));
  });

  it('names the bad entry of a list', () => {
    expect(() => rleArea([smallRle, { size: [2, 2], counts: [1] }])).toThrow(
      'rleArea: rles[1].counts must sum to h·w = 4 for size [2,2], got 1',
    );
  });
});

describe('rleToBbox', () => {
  it('gives the tight [x, y, w, h] box (hand-computed) and zeros for an empty mask', () => {
    expect(rleToBbox(smallRle)).toEqual([0, 0, 2, 2]);
    expect(rleToBbox({ size: [4, 4], counts: [16] })).toEqual([0, 0, 0, 0]);
    expect(rleToBbox({ size: [4, 4], counts: [5, 1, 10] })).toEqual([1, 1, 1, 1]);
  });

  it('matches pycocotools toBbox on every fixture RLE, including its uint wrap-around quirk', () => {
    const all = [...fx.encode, ...fx.uncompressed];
    const boxes = rleToBbox(all.map((c) => rleFromString(c.counts, c.size)));
    all.forEach((c, i) => expect([c.name, boxes[i]]).toEqual([c.name, c.bbox]));
  });

  it('spans the full height when a run continues into the next column', () => {
    // rows 2..3 of column 0 then rows 0..1 of column 1 on a 4×3 image: its end pixels alone give rows 1..2
    expect(rleToBbox({ size: [4, 3], counts: [2, 4, 6] })).toEqual([0, 0, 2, 4]);
  });
});
