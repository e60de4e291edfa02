import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { readSafetensors, writeSafetensors, type SafetensorsDtype } from '@residual/core';
import { expectNoLeak, fixturePath, useBackend } from '@residual/test-utils';
import { expectValueError, float32Bits, headerText } from './safetensors-build';

// Fixtures come from tools/fixtures/core_safetensors.py (torch 1.13). The reverse direction:
// safetensors_residual.safetensors is what writeSafetensors produced, checked by that script
// against torch's own conversions; regenerate with RESIDUAL_UPDATE_FIXTURES=1, then rerun it.
const pkg = path.join(__dirname, '..');
const read = (name: string) => readSafetensors(new Uint8Array(fs.readFileSync(fixturePath(pkg, name))));

// Mirrors PLAN in core_safetensors.py: written key → [source key, requested dtype or default].
const PLAN: Record<string, [string, SafetensorsDtype | null]> = {
  as_f32: ['floats', 'F32'], as_f16: ['floats', 'F16'], as_bf16: ['floats', 'BF16'], as_f64: ['floats', 'F64'],
  as_i64: ['int_wide', 'I64'], as_i32: ['int_wide', 'I32'], as_i16: ['int_i16', 'I16'], as_i8: ['int_i8', 'I8'],
  as_u8: ['int_u8', 'U8'], as_bool: ['mask', 'BOOL'], int_as_f16: ['int_to_half', 'F16'],
  int_as_bf16: ['int_to_half', 'BF16'], int_as_f32: ['int_to_half', 'F32'], float_as_i16: ['float_ints', 'I16'],
  float_as_i64: ['float_ints', 'I64'], mask_as_u8: ['mask', 'U8'], mask_as_f16: ['mask', 'F16'],
  'bn.num_batches_tracked': ['int_wide', null], count: ['int_wide', null], weight: ['floats', null], flags: ['mask', null],
};

beforeAll(async () => {
  await useBackend();
});

describe('readSafetensors on files written by PyTorch', () => {
  it('reads every dtype with the values torch widens them to, bit for bit', async () => {
    await expectNoLeak(() => {
      const file = read('safetensors_torch.safetensors');
      const expected = read('safetensors_torch_expected.safetensors');
      expect([...file.tensors.keys()].sort()).toEqual([...expected.tensors.keys()].sort());
      for (const [key, t] of file.tensors) {
        const e = expected.tensors.get(key) as tf.Tensor;
        expect({ key, shape: t.shape }).toEqual({ key, shape: e.shape });
        const want = e.dtype === 'float32' ? float32Bits(e.dataSync()) : Array.from(e.dataSync());
        const got = t.dtype === 'float32' ? float32Bits(t.dataSync()) : Array.from(t.dataSync());
        expect({ key, got }).toEqual({ key, got: want });
      }
      return [file.tensors, expected.tensors];
    });
  });

  it('maps file dtypes to tfjs dtypes and reports each file dtype', async () => {
    await expectNoLeak(() => {
      const { tensors, dtypes, metadata } = read('safetensors_torch.safetensors');
      const tfDtypes = Object.fromEntries([...tensors].map(([k, t]) => [k, t.dtype]));
      expect(tfDtypes).toEqual({
        f32: 'float32', f16: 'float32', bf16: 'float32', f64: 'float32', i64: 'int32', i32: 'int32', i16: 'int32',
        i8: 'int32', u8: 'int32', bool: 'bool', empty: 'float32', scalar: 'float32', 'layer.0.weight': 'float32',
      });
      expect(Object.fromEntries(dtypes)).toEqual({
        f32: 'F32', f16: 'F16', bf16: 'BF16', f64: 'F64', i64: 'I64', i32: 'I32', i16: 'I16', i8: 'I8', u8: 'U8',
        bool: 'BOOL', empty: 'F32', scalar: 'F32', 'layer.0.weight': 'F32',
      });
      expect(metadata).toEqual({ format: 'pt', source: 'core_safetensors.py', unicode: 'héllo ✓' });
      return tensors;
    });
  });

  it('decodes F16 subnormals, ±0, ±Inf and NaN to the exact float32 values', async () => {
    await expectNoLeak(() => {
      const { tensors } = read('safetensors_torch.safetensors');
      const f16 = Array.from(tensors.get('f16')?.dataSync() as Float32Array);
      // Bit patterns in core_safetensors.py: 0x0000 0x8000 0x0001 0x8001 0x03FF 0x0400 0x3C00 …
      expect(f16.slice(0, 7)).toEqual([0, -0, 2 ** -24, -(2 ** -24), 1023 * 2 ** -24, 2 ** -14, 1]);
      expect(Object.is(f16[1], -0)).toBe(true);
      expect(f16.slice(8, 14)).toEqual([65504, -65504, Infinity, -Infinity, NaN, NaN]);
      expect(f16[14]).toBe(2 ** -15);
      expect(Array.from(tensors.get('bool')?.dataSync() as Uint8Array)).toEqual([1, 0, 1]);
      expect(tensors.get('empty')?.shape).toEqual([0, 3]);
      expect(tensors.get('scalar')?.shape).toEqual([]);
      return tensors;
    });
  });

  it('refuses an I64 value outside the int32 range, naming the key, and frees what it read', async () => {
    await expectNoLeak(() => {
      expectValueError(() => read('safetensors_i64_overflow.safetensors'), 'readSafetensors: "step" holds the I64 value 2147483648 at index 1, outside the int32 range');
    });
  });
});

describe('writeSafetensors read back by PyTorch', () => {
  it('produces exactly the committed bytes that core_safetensors.py checked against torch', async () => {
    await expectNoLeak(() => {
      const { tensors: sources } = read('safetensors_writer_input.safetensors');
      const tensors = new Map<string, tf.Tensor>();
      const dtypes: Record<string, SafetensorsDtype> = {};
      for (const [key, [source, dtype]] of Object.entries(PLAN)) {
        tensors.set(key, sources.get(source) as tf.Tensor);
        if (dtype) dtypes[key] = dtype;
      }
      const bytes = writeSafetensors(tensors, { dtypes, metadata: { writer: 'residual', format: 'pt' } });
      const committed = fixturePath(pkg, 'safetensors_residual.safetensors');
      if (process.env.RESIDUAL_UPDATE_FIXTURES === '1') fs.writeFileSync(committed, bytes);
      expect(headerText(bytes)).toBe(headerText(new Uint8Array(fs.readFileSync(committed))));
      expect(Buffer.from(bytes).equals(fs.readFileSync(committed))).toBe(true);
      return sources;
    });
  });
});
