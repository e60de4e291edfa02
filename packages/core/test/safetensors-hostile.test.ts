import * as tf from '@tensorflow/tfjs-core';
import { Generator, readSafetensors, writeSafetensors, ValueError } from '@residual/core';
import { useBackend } from '@residual/test-utils';
import { buildFile, expectValueError, f32Bytes } from './safetensors-build';

beforeAll(async () => {
  await useBackend();
});

const entry = (dtype: unknown, shape: unknown, offsets: unknown) => ({ dtype, shape, data_offsets: offsets });
const ok = entry('F32', [2], [0, 8]);

describe('readSafetensors on hostile files', () => {
  it.each([
    ['a file shorter than 8 bytes', new Uint8Array(5), 'readSafetensors: file is 5 bytes, shorter than the 8-byte header length'],
    ['a header length of 2^63', buildFile({}, [], 2n ** 63n), 'readSafetensors: header length 9223372036854775808 is larger than the 100000000-byte limit'],
    ['a header length of 2^64 - 1', buildFile({}, [], 2n ** 64n - 1n), 'readSafetensors: header length 18446744073709551615 is larger than the 100000000-byte limit'],
    ['a header length just over 100 MB', buildFile({}, [], 100_000_001n), 'readSafetensors: header length 100000001 is larger than the 100000000-byte limit'],
    ['a header length past the end of the file', buildFile('{}', [], 9n), 'readSafetensors: header length 9 exceeds the 2 bytes that follow it'],
    ['a header that is not UTF-8', buildFile('{"\xff"}').map((b, i) => (i === 10 ? 0xff : b)), 'readSafetensors: header is not valid UTF-8'],
    ['a header starting with a BOM', buildFile('\ufeff{}'), 'readSafetensors: header must be a JSON object starting with "{", got "\ufeff{}"'],
    ['a header that is a JSON array', buildFile('[]'), 'readSafetensors: header must be a JSON object starting with "{", got "[]"'],
    ['a header starting with whitespace', buildFile(' {}'), 'readSafetensors: header must be a JSON object starting with "{", got " {}"'],
    ['a header that is not JSON', buildFile('{"a":'), 'readSafetensors: header is not valid JSON (Unexpected end of JSON input)'],
    ['a duplicate tensor key', buildFile(`{"a":${JSON.stringify(ok)},"a":${JSON.stringify(ok)}}`, f32Bytes([1, 2])), 'readSafetensors: header has the key "a" twice'],
    ['a duplicate key spelled with an escape', buildFile(`{"a":${JSON.stringify(ok)},"\\u0061":{}}`, f32Bytes([1, 2])), 'readSafetensors: header has the key "a" twice'],
    ['a duplicate field inside an entry', buildFile('{"a":{"dtype":"F32","dtype":"I32","shape":[2],"data_offsets":[0,8]}}', f32Bytes([1, 2])), 'readSafetensors: header has the key "dtype" twice'],
    ['an entry that is not an object', buildFile({ a: [1] }), 'readSafetensors: "a" must be an object with dtype, shape and data_offsets, got [1]'],
    ['an entry that is null', buildFile({ a: null }), 'readSafetensors: "a" must be an object with dtype, shape and data_offsets, got null'],
    ['a missing dtype', buildFile({ a: { shape: [], data_offsets: [0, 4] } }), 'readSafetensors: "a" dtype must be a string, got nothing'],
    ['an unknown dtype', buildFile({ a: entry('U16', [2], [0, 4]) }, [0, 0, 0, 0]), 'readSafetensors: "a" has unsupported dtype "U16" (supported: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)'],
    ['a shape that is not an array', buildFile({ a: entry('F32', 2, [0, 8]) }), 'readSafetensors: "a" shape must be an array of non-negative integers, got 2'],
    ['a negative dimension', buildFile({ a: entry('F32', [-1], [0, 8]) }), 'readSafetensors: "a" shape must be an array of non-negative integers, got [-1]'],
    ['a fractional dimension', buildFile({ a: entry('F32', [1.5], [0, 8]) }), 'readSafetensors: "a" shape must be an array of non-negative integers, got [1.5]'],
    ['an unsafe-integer dimension', buildFile({ a: entry('F32', [2 ** 53], [0, 8]) }), 'readSafetensors: "a" shape must be an array of non-negative integers, got [9007199254740992]'],
    ['a string dimension', buildFile({ a: entry('F32', ['2'], [0, 8]) }), 'readSafetensors: "a" shape must be an array of non-negative integers, got ["2"]'],
    ['offsets that are not a pair', buildFile({ a: entry('F32', [2], [0]) }), 'readSafetensors: "a" data_offsets must be [begin, end] with non-negative integers, got [0]'],
    ['fractional offsets', buildFile({ a: entry('F32', [2], [0, 7.5]) }), 'readSafetensors: "a" data_offsets must be [begin, end] with non-negative integers, got [0,7.5]'],
    ['negative offsets', buildFile({ a: entry('F32', [2], [-8, 0]) }), 'readSafetensors: "a" data_offsets must be [begin, end] with non-negative integers, got [-8,0]'],
    ['reversed offsets', buildFile({ a: entry('F32', [2], [8, 0]) }, f32Bytes([1, 2])), 'readSafetensors: "a" data_offsets [8,0] are reversed'],
    ['offsets past the end of the file', buildFile({ a: entry('F32', [2], [0, 8]) }, [1, 2, 3]), 'readSafetensors: "a" data_offsets [0,8] run past the 3 data bytes of the file'],
    ['a shape that does not match the byte span', buildFile({ a: entry('F32', [3], [0, 8]) }, f32Bytes([1, 2])), 'readSafetensors: "a" shape [3] of F32 needs 12 bytes, but data_offsets [0,8] hold 8'],
    ['a huge declared shape', buildFile({ a: entry('F32', [2 ** 40, 2 ** 40], [0, 8]) }, f32Bytes([1, 2])), 'readSafetensors: "a" shape [1099511627776,1099511627776] of F32 needs 4835703278458516698824704 bytes, but data_offsets [0,8] hold 8'],
    ['overlapping tensors', buildFile({ a: ok, b: entry('F32', [1], [4, 8]) }, f32Bytes([1, 2])), 'readSafetensors: "b" data_offsets [4,8] overlap "a", which ends at 8'],
    ['a zero-size tensor inside another', buildFile({ a: ok, b: entry('F32', [0], [4, 4]) }, f32Bytes([1, 2])), 'readSafetensors: "b" data_offsets [4,4] overlap "a", which ends at 8'],
    ['a gap between tensors', buildFile({ a: entry('F32', [1], [0, 4]), b: entry('F32', [1], [8, 12]) }, f32Bytes([1, 2, 3])), 'readSafetensors: "b" data_offsets [8,12] leave bytes 4..8 unused (tensor data must be contiguous)'],
    ['trailing bytes after the last tensor', buildFile({ a: ok }, f32Bytes([1, 2, 3])), 'readSafetensors: tensor data ends at byte 8 of the data section, but the file has 12 data bytes'],
    ['metadata that is not an object', buildFile({ __metadata__: 'x' }), 'readSafetensors: __metadata__ must be an object mapping strings to strings, got "x"'],
    ['metadata with a non-string value', buildFile({ __metadata__: { epoch: 3 } }), 'readSafetensors: __metadata__ must map strings to strings, but "epoch" is 3'],
    ['a key with control characters', buildFile({ 'a\n"b': entry('X', [], [0, 0]) }), 'readSafetensors: "a\\n\\"b" has unsupported dtype "X" (supported: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL)'],
  ])('rejects %s', (_name, bytes, message) => {
    const before = tf.memory().numTensors;
    expectValueError(() => readSafetensors(bytes), message);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('accepts what the format allows: zero-size tensors, tensors in any header order, padding, no tensors', () => {
    const file = buildFile(
      { __metadata__: {}, b: entry('I32', [1], [8, 12]), z: entry('F32', [0, 2 ** 40], [12, 12]), a: ok },
      [...f32Bytes([1, 2]), 7, 0, 0, 0],
    );
    const { tensors, metadata } = readSafetensors(file);
    expect([...tensors.keys()]).toEqual(['b', 'z', 'a']);
    expect(tensors.get('z')?.shape).toEqual([0, 2 ** 40]);
    expect(Array.from(tensors.get('b')?.dataSync() as Int32Array)).toEqual([7]);
    expect(metadata).toEqual({});
    tf.dispose([...tensors.values()]);
    expect(readSafetensors(buildFile('{}      ')).tensors.size).toBe(0);
  });

  it('keeps a "__proto__" metadata key as plain data', () => {
    const { metadata } = readSafetensors(buildFile('{"__metadata__":{"__proto__":"x"}}'));
    expect(Object.getPrototypeOf(metadata)).toBe(Object.prototype);
    expect(Object.keys(metadata)).toEqual(['__proto__']);
  });
});

/** A few valid files with every dtype to mutate. */
function seeds(): Uint8Array[] {
  const t = {
    f: tf.tensor2d([1.5, -2, 3, 4], [2, 2]),
    i: tf.tensor1d([1, -2, 3], 'int32'),
    u: tf.tensor1d([1, 200, 3], 'int32'),
    b: tf.tensor1d([true, false], 'bool'),
    'bn.num_batches_tracked': tf.scalar(5, 'int32'),
  };
  const files = [
    writeSafetensors(t, { metadata: { k: 'v' } }),
    writeSafetensors(t, { dtypes: { f: 'F16', i: 'I8' } }),
    writeSafetensors({ f: t.f, u: t.u }, { dtypes: { f: 'BF16', u: 'U8' } }),
    writeSafetensors({ f: t.f, i: t.i }, { dtypes: { f: 'F64', i: 'I16' } }),
  ];
  tf.dispose(Object.values(t));
  return files;
}

/** One random mutation of `file`: bit flips, byte stores, truncation, extension or a header edit. */
function mutate(file: Uint8Array, rng: Generator): Uint8Array {
  const out = file.slice();
  const headerEnd = 8 + Number(new DataView(file.buffer).getBigUint64(0, true));
  const anywhere = () => rng.randint(out.length);
  const inHeader = () => rng.randint(headerEnd);
  switch (rng.randint(7)) {
    case 0:
      for (let k = 1 + rng.randint(4); k > 0; k--) out[anywhere()] ^= 1 << rng.randint(8);
      return out;
    case 1:
      out[inHeader()] = '{}[]",:0123456789-.eE \\u'.charCodeAt(rng.randint(26));
      return out;
    case 2:
      return out.slice(0, rng.randint(out.length));
    case 3: {
      const longer = new Uint8Array(out.length + 1 + rng.randint(16));
      longer.set(out);
      return longer;
    }
    case 4:
      new DataView(out.buffer).setBigUint64(0, BigInt(rng.randint(2 * headerEnd)), true);
      return out;
    case 5: {
      // Swap two header digits, which moves offsets and shapes while keeping the JSON valid.
      const text = new TextDecoder().decode(out.subarray(8, headerEnd));
      const digits = [...text].flatMap((c, i) => (c >= '0' && c <= '9' ? [i] : []));
      const [a, b] = [digits[rng.randint(digits.length)], digits[rng.randint(digits.length)]];
      [out[8 + a], out[8 + b]] = [out[8 + b], out[8 + a]];
      return out;
    }
    default:
      for (let k = 1 + rng.randint(8); k > 0; k--) out[anywhere()] = rng.randint(256);
      return out;
  }
}

/** Byte widths of the dtypes the format defines (and a few it does not), for crafted headers. */
const WIDTHS: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1, U16: 2, U32: 4, F8_E4M3: 1 };

/**
 * One hand-crafted file from a small grammar: 0–4 tensors whose dtype, shape and data_offsets are
 * each drawn from valid values, boundary values and wrong types, usually consistent with each
 * other and with the data section (so deep checks are reached), sometimes not; random metadata;
 * a data section of the declared size, or a few bytes off.
 */
function craft(rng: Generator): Uint8Array {
  const pick = <T>(xs: readonly T[]): T => xs[rng.randint(xs.length)];
  const dims = [0, 1, 2, 3, 7, 2 ** 31, 2 ** 32 + 1, 2 ** 53, -1, 1.5, '2', null];
  const header: Record<string, unknown> = {};
  let offset = 0;
  const count = rng.randint(5);
  for (let t = 0; t < count; t++) {
    const dtype = rng.randint(8) === 0 ? pick(['U16', 'F8_E4M3', '', 'f32', 5, null]) : pick(Object.keys(WIDTHS).slice(0, 10));
    const rank = rng.randint(4);
    const shape = Array.from({ length: rank }, () => (rng.randint(6) === 0 ? pick(dims) : rng.randint(4)));
    const numel = shape.reduce<number>((a, d) => a * (typeof d === 'number' ? d : 1), 1);
    const width = typeof dtype === 'string' ? (WIDTHS[dtype] ?? 1) : 1;
    const size = Number.isSafeInteger(numel * width) && numel * width < 4096 ? numel * width : 16;
    let span: unknown = [offset, offset + size];
    if (rng.randint(6) === 0) span = pick([[offset, offset + size + 1], [offset + 1, offset + size], [offset + size, offset], [0, 2 ** 60], [offset], 'x', [-4, offset], [offset, offset + size - 1]]);
    const entry: Record<string, unknown> = { dtype, shape, data_offsets: span };
    if (rng.randint(12) === 0) delete entry[pick(['dtype', 'shape', 'data_offsets'])];
    const name = rng.randint(10) === 0 ? pick(['', '__metadata__', 'a.b', 'x'.repeat(300), '\u0000', 'é']) : `t${t}`;
    header[name] = rng.randint(20) === 0 ? pick([null, [], 3, 'F32']) : entry;
    offset += size;
  }
  if (rng.randint(3) === 0) header.__metadata__ = pick([{ format: 'pt' }, { a: 1 }, [], 'x', { b: null }, {}]);
  const text = JSON.stringify(header) + ' '.repeat(rng.randint(8));
  const extra = rng.randint(4) === 0 ? pick([-3, -1, 1, 8]) : 0;
  const data = Array.from({ length: Math.max(0, offset + extra) }, () => rng.randint(256));
  return buildFile(text, data);
}

/** What a fuzz run saw, for the assertions and for a failure message. */
interface FuzzTally {
  parsed: number;
  rejected: number;
  /** Largest bytes of tensors a parsed file produced, divided by the file's size. */
  worstTensorRatio: number;
  /** Largest growth of process.memoryUsage().arrayBuffers over one call, minus 4·file size. */
  worstExcessAlloc: number;
  /** Slowest single call, ms. */
  slowestMs: number;
}

/**
 * Runs readSafetensors on every file: each must parse or throw a ValueError starting
 * "readSafetensors: "; a parsed file's tensors must not exceed 4× its size (U8/I8 widen to int32,
 * F16/BF16 to float32), and no call may grow the ArrayBuffer heap by more than 4× the file size
 * plus 1 MiB, whatever it then throws (allocation is bounded by the file, never by a declared shape).
 */
function runFuzz(label: string, files: (n: number) => Uint8Array, cases: number): FuzzTally {
  const tally: FuzzTally = { parsed: 0, rejected: 0, worstTensorRatio: 0, worstExcessAlloc: -Infinity, slowestMs: 0 };
  for (let n = 0; n < cases; n++) {
    const bytes = files(n);
    const heap = process.memoryUsage().arrayBuffers;
    const bytesBefore = tf.memory().numBytes;
    const t0 = performance.now();
    try {
      const { tensors } = readSafetensors(bytes);
      tally.parsed++;
      tally.worstTensorRatio = Math.max(tally.worstTensorRatio, (tf.memory().numBytes - bytesBefore) / bytes.length);
      tf.dispose([...tensors.values()]);
    } catch (e) {
      if (!(e instanceof ValueError) || !e.message.startsWith('readSafetensors: ')) {
        throw new Error(`${label} case ${n}: ${String(e)} for bytes ${Buffer.from(bytes).toString('hex')}`);
      }
      tally.rejected++;
    }
    tally.slowestMs = Math.max(tally.slowestMs, performance.now() - t0);
    const excess = process.memoryUsage().arrayBuffers - heap - 4 * bytes.length;
    if (excess > 2 ** 20) throw new Error(`${label} case ${n}: the call grew ArrayBuffers by ${excess} bytes beyond 4× the file size`);
    tally.worstExcessAlloc = Math.max(tally.worstExcessAlloc, excess);
  }
  return tally;
}

// `npm test` runs a few hundred cases of each kind; the nightly size is
// RESIDUAL_FUZZ_CASES=10000 (see docs/releasing.md); RESIDUAL_FUZZ_SEED picks another stream.
describe('readSafetensors under fuzzing', () => {
  const cases = Number(process.env.RESIDUAL_FUZZ_CASES ?? 400);
  const seed = Number(process.env.RESIDUAL_FUZZ_SEED ?? 20240611);

  it(`ends every one of ${cases} mutated files in a clean parse or a ValueError, within the file's memory, leaking nothing`, () => {
    const rng = new Generator(seed);
    const files = seeds();
    const before = tf.memory().numTensors;
    const tally = runFuzz('mutated', (n) => mutate(files[n % files.length], rng), cases);
    expect(tf.memory().numTensors).toBe(before);
    // Both outcomes must occur, or the mutations are not exercising the parser.
    expect(tally.parsed).toBeGreaterThan(cases / 50);
    expect(tally.rejected).toBeGreaterThan(cases / 4);
    expect(tally.worstTensorRatio).toBeLessThanOrEqual(4);
    expect(tally.slowestMs).toBeLessThan(1000); // no hang: every file is a few hundred bytes
  });

  it(`ends every one of ${cases} hand-crafted headers in a clean parse or a ValueError, within the file's memory, leaking nothing`, () => {
    const rng = new Generator(seed + 1);
    const before = tf.memory().numTensors;
    const tally = runFuzz('crafted', () => craft(rng), cases);
    expect(tf.memory().numTensors).toBe(before);
    expect(tally.parsed).toBeGreaterThan(cases / 20);
    expect(tally.rejected).toBeGreaterThan(cases / 4);
    expect(tally.worstTensorRatio).toBeLessThanOrEqual(4);
    expect(tally.slowestMs).toBeLessThan(1000);
  });
});
