import * as tf from '@tensorflow/tfjs-core';
import { readSafetensors, writeSafetensors, type SafetensorsDtype } from '@residual/core';
import { expectNoLeak, useBackend } from '@residual/test-utils';
import { expectValueError, float32Bits, headerText } from './safetensors-build';

beforeAll(async () => {
  await useBackend();
});

/** Writes one tensor as `dtype`, reads it back, returns [tfjs dtype, values, file dtype]. */
function roundTrip(t: tf.Tensor, dtype?: SafetensorsDtype): { dtype: string; values: number[]; file: string; shape: number[] } {
  const bytes = writeSafetensors({ x: t }, dtype ? { dtypes: { x: dtype } } : {});
  const { tensors, dtypes } = readSafetensors(bytes);
  const back = tensors.get('x') as tf.Tensor;
  const out = { dtype: back.dtype, values: Array.from(back.dataSync()), file: dtypes.get('x') as string, shape: back.shape };
  back.dispose();
  return out;
}

describe('writeSafetensors → readSafetensors round trips', () => {
  const floats = [0, -0, 1.5, -2.25, 1024, Infinity, -Infinity, NaN];

  it.each(['F32', 'F64', 'F16', 'BF16'] as const)('keeps float32 values representable in %s exactly, -0 and NaN included', async (dtype) => {
    await expectNoLeak(() => {
      const t = tf.tensor2d(floats, [2, 4]);
      const back = roundTrip(t, dtype);
      expect(back).toEqual({ dtype: 'float32', values: floats, file: dtype, shape: [2, 4] });
      expect(float32Bits(back.values)).toEqual(float32Bits(floats));
      t.dispose();
    });
  });

  it('keeps arbitrary float32 values bit-exactly in F32 and F64', async () => {
    await expectNoLeak(() => {
      const values = [1 / 3, Math.PI, 1e-45, 3.4028234663852886e38, -7.1e-39];
      const t = tf.tensor1d(values);
      for (const dtype of ['F32', 'F64'] as const) expect(float32Bits(roundTrip(t, dtype).values)).toEqual(float32Bits(values));
      t.dispose();
    });
  });

  it.each([
    ['I64', [-(2 ** 31), 2 ** 31 - 1, 0, -1]],
    ['I32', [-(2 ** 31), 2 ** 31 - 1, 0, -1]],
    ['I16', [-32768, 32767, 0, -1]],
    ['I8', [-128, 127, 0, -1]],
    ['U8', [0, 255, 1, 128]],
    ['BOOL', [0, 1, 1, 0]],
  ] as const)('keeps int32 values that fit %s', async (dtype, values) => {
    await expectNoLeak(() => {
      const t = tf.tensor1d([...values], 'int32');
      expect(roundTrip(t, dtype)).toEqual({ dtype: dtype === 'BOOL' ? 'bool' : 'int32', values, file: dtype, shape: [4] });
      t.dispose();
    });
  });

  it('writes bool tensors as BOOL and reads them back as bool', async () => {
    await expectNoLeak(() => {
      const t = tf.tensor2d([true, false, false, true], [2, 2], 'bool');
      expect(roundTrip(t)).toEqual({ dtype: 'bool', values: [1, 0, 0, 1], file: 'BOOL', shape: [2, 2] });
      t.dispose();
    });
  });

  it('keeps zero-size and 0-d tensors', async () => {
    await expectNoLeak(() => {
      const empty = tf.zeros([0, 3]);
      const scalar = tf.scalar(7, 'int32');
      expect(roundTrip(empty)).toEqual({ dtype: 'float32', values: [], file: 'F32', shape: [0, 3] });
      expect(roundTrip(scalar)).toEqual({ dtype: 'int32', values: [7], file: 'I32', shape: [] });
      tf.dispose([empty, scalar]);
    });
  });

  it('rounds F16 and BF16 to nearest even and overflows to ±Inf', async () => {
    await expectNoLeak(() => {
      const t = tf.tensor1d([1 + 2 ** -11, 1 + 3 * 2 ** -11, 65520, 2 ** -25, 1.5 * 2 ** -24, 1 + 2 ** -8, 1 + 3 * 2 ** -8]);
      expect(roundTrip(t, 'F16').values).toEqual([1, 1 + 2 ** -9, Infinity, 0, 2 ** -23, 1 + 2 ** -8, 1 + 3 * 2 ** -8]);
      expect(roundTrip(t, 'BF16').values).toEqual([1, 1, 65536, 2 ** -25, 1.5 * 2 ** -24, 1, 1 + 2 ** -6]);
      t.dispose();
    });
  });

  it('keeps metadata, including non-ASCII text', async () => {
    const { tensors, metadata } = readSafetensors(writeSafetensors({}, { metadata: { b: 'ü ✓', a: '{"json": 1}' } }));
    expect(tensors.size).toBe(0);
    expect(metadata).toEqual({ a: '{"json": 1}', b: 'ü ✓' });
  });

  it('reads from a Node Buffer that is a view at an odd offset into a larger buffer', async () => {
    await expectNoLeak(() => {
      const t = tf.tensor1d([1.5, -2, 3.25]);
      const n = tf.tensor1d([1, 2], 'int32');
      const bytes = writeSafetensors({ a: t, n }, { dtypes: { n: 'I16' } });
      const pool = Buffer.alloc(bytes.length + 3, 0xee);
      pool.set(bytes, 3);
      const { tensors } = readSafetensors(pool.subarray(3));
      expect(Array.from(tensors.get('a')?.dataSync() as Float32Array)).toEqual([1.5, -2, 3.25]);
      expect(Array.from(tensors.get('n')?.dataSync() as Int32Array)).toEqual([1, 2]);
      pool.fill(0); // the tensors must own copies, not views of the caller's bytes
      expect(Array.from(tensors.get('a')?.dataSync() as Float32Array)).toEqual([1.5, -2, 3.25]);
      tf.dispose([t, n]);
      return tensors;
    });
  });
});

describe('writeSafetensors defaults and layout', () => {
  it('defaults to F32 for float32, I32 for int32, I64 for num_batches_tracked keys and BOOL for bool', async () => {
    await expectNoLeak(() => {
      const tensors = {
        'bn.weight': tf.ones([2]),
        'bn.num_batches_tracked': tf.scalar(3, 'int32'),
        num_batches_tracked: tf.scalar(4, 'int32'),
        'x.my_num_batches_tracked': tf.scalar(5, 'int32'),
        mask: tf.tensor1d([true], 'bool'),
      };
      const { dtypes, tensors: back } = readSafetensors(writeSafetensors(tensors));
      expect(Object.fromEntries(dtypes)).toEqual({
        'bn.num_batches_tracked': 'I64', num_batches_tracked: 'I64', 'bn.weight': 'F32',
        'x.my_num_batches_tracked': 'I32', mask: 'BOOL',
      });
      tf.dispose(Object.values(tensors));
      return back;
    });
  });

  it('orders tensors by dtype width then name, metadata first, and pads the header to 8 with spaces', async () => {
    const t = { b: tf.ones([3], 'bool'), a: tf.ones([1]), c: tf.ones([1]), n: tf.ones([1], 'int32') };
    const bytes = writeSafetensors(t, { dtypes: { n: 'I64', c: 'F16' }, metadata: { z: '1', y: '2' } });
    const text = headerText(bytes);
    expect(text.trimEnd()).toBe(
      '{"__metadata__":{"y":"2","z":"1"},' +
        '"n":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},' +
        '"c":{"dtype":"F16","shape":[1],"data_offsets":[12,14]},"b":{"dtype":"BOOL","shape":[3],"data_offsets":[14,17]}}',
    );
    expect(text.length % 8).toBe(0);
    expect(text.slice(text.trimEnd().length)).toMatch(/^ {0,7}$/);
    expect(bytes.length).toBe(8 + text.length + 17);
    tf.dispose(Object.values(t));
  });

  it('accepts a Map and leaves the tensors alive', () => {
    const t = tf.ones([2]);
    readSafetensors(writeSafetensors(new Map([['w', t]]))).tensors.forEach((x) => x.dispose());
    expect(t.isDisposed).toBe(false);
    t.dispose();
  });
});

describe('writeSafetensors refuses what it cannot write', () => {
  const tensors: Record<string, tf.Tensor> = {};
  beforeAll(() => {
    tensors.f = tf.tensor1d([1, 2.5, -3]);
    tensors.i = tf.tensor1d([1, 300, -3], 'int32');
    tensors.big = tf.tensor1d([2 ** 63], 'float32');
  });
  afterAll(() => tf.dispose(Object.values(tensors)));

  it.each([
    [{ i: 'I8' }, 'writeSafetensors: "i" value 300 at index 1 does not fit I8 (integers -128..127)'],
    [{ i: 'U8' }, 'writeSafetensors: "i" value 300 at index 1 does not fit U8 (integers 0..255)'],
    [{ i: 'BOOL' }, 'writeSafetensors: "i" value 300 at index 1 does not fit BOOL (integers 0..1)'],
    [{ f: 'I32' }, 'writeSafetensors: "f" value 2.5 at index 1 does not fit I32 (integers -2147483648..2147483647)'],
    [{ big: 'I64' }, 'writeSafetensors: "big" value 9223372036854776000 at index 0 does not fit I64 (integers -2^63..2^63-1)'],
  ] as const)('refuses values that do not fit the requested dtype %j', (dtypes, message) => {
    const only = Object.fromEntries(Object.keys(dtypes).map((k) => [k, tensors[k]]));
    expectValueError(() => writeSafetensors(only, { dtypes }), message);
  });

  it('refuses dtypes for keys that are not among the tensors, and unknown dtypes', () => {
    expectValueError(() => writeSafetensors({ f: tensors.f }, { dtypes: { g: 'F16' } }), 'writeSafetensors: options.dtypes names "g", which is not among the tensors');
    expectValueError(() => writeSafetensors({ f: tensors.f }, { dtypes: { f: 'U16' as SafetensorsDtype } }), 'writeSafetensors: options.dtypes["f"] must be a safetensors dtype, got "U16"');
  });

  it('refuses a tensor named __metadata__, disposed tensors, non-tensors, other dtypes and non-string metadata', () => {
    const gone = tf.ones([1]);
    gone.dispose();
    const text = tf.tensor1d(['a']);
    expectValueError(() => writeSafetensors({ __metadata__: tensors.f }), 'writeSafetensors: "__metadata__" is reserved and cannot name a tensor');
    expectValueError(() => writeSafetensors({ g: gone }), 'writeSafetensors: "g" is a disposed tensor');
    expectValueError(() => writeSafetensors({ g: [1, 2] as unknown as tf.Tensor }), 'writeSafetensors: "g" must be a tf.Tensor, got object');
    expectValueError(() => writeSafetensors({ c: text }), 'writeSafetensors: "c" has dtype string; only float32, int32 and bool can be written');
    expectValueError(() => writeSafetensors({}, { metadata: { a: 1 as unknown as string } }), 'writeSafetensors: metadata values must be strings, but "a" is number');
    text.dispose();
  });
});
