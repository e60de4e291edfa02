import * as tf from '@tensorflow/tfjs-core';
import { ValueError } from '../errors.js';
import { nativeCopy } from './byte-order.js';
import { halfBitsToFloatBits } from './half-precision.js';
import { parseSafetensorsHeader } from './safetensors-header.js';
import type { SafetensorsContents, SafetensorsDtype } from './safetensors.js';

type Decoded = Float32Array | Int32Array | Uint8Array;

function decodeI64(raw: Uint8Array, count: number, key: string): Int32Array {
  // Little-endian int64 = [low word, high word]; swapping 4-byte words keeps that pair order.
  const words = new Int32Array(nativeCopy(raw, 4));
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const lo = words[2 * i];
    const hi = words[2 * i + 1];
    // In int32 range exactly when the high word is the sign extension of the low word.
    if (hi !== lo >> 31) {
      const value = (BigInt(hi) << 32n) | BigInt(lo >>> 0);
      throw new ValueError(
        `readSafetensors: ${JSON.stringify(key)} holds the I64 value ${value} at index ${i}, outside the int32 range`,
      );
    }
    out[i] = lo;
  }
  return out;
}

function decodeF16(raw: Uint8Array, count: number): Float32Array {
  const halves = new Uint16Array(nativeCopy(raw, 2));
  const out = new Float32Array(count);
  const bits = new Uint32Array(out.buffer);
  if (count < 65536) {
    for (let i = 0; i < count; i++) bits[i] = halfBitsToFloatBits(halves[i]);
    return out;
  }
  // Large tensors: a 256 KiB table of all 65536 patterns, built per call (no module-level cache).
  const table = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) table[h] = halfBitsToFloatBits(h);
  for (let i = 0; i < count; i++) bits[i] = table[halves[i]];
  return out;
}

function decodeBF16(raw: Uint8Array, count: number): Float32Array {
  const halves = new Uint16Array(nativeCopy(raw, 2));
  const out = new Float32Array(count);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < count; i++) bits[i] = halves[i] << 16; // BF16 is the top half of a float32
  return out;
}

/**
 * Converts one tensor's raw little-endian bytes to the tfjs dtype. F32 and I32 are a single bulk
 * copy; the widening conversions go through typed-array constructors, which convert in native code.
 */
function decode(dtype: SafetensorsDtype, raw: Uint8Array, count: number, key: string): Decoded {
  switch (dtype) {
    case 'F32':
      return new Float32Array(nativeCopy(raw, 4));
    case 'F64':
      return new Float32Array(new Float64Array(nativeCopy(raw, 8))); // rounds to nearest even, as torch .float()
    case 'F16':
      return decodeF16(raw, count);
    case 'BF16':
      return decodeBF16(raw, count);
    case 'I64':
      return decodeI64(raw, count, key);
    case 'I32':
      return new Int32Array(nativeCopy(raw, 4));
    case 'I16':
      return new Int32Array(new Int16Array(nativeCopy(raw, 2)));
    case 'I8':
      return new Int32Array(new Int8Array(raw.buffer, raw.byteOffset, count));
    case 'U8':
      return new Int32Array(raw);
    case 'BOOL':
      return raw.map((b) => (b !== 0 ? 1 : 0)); // any non-zero byte is true, as torch reads it
  }
}

/**
 * Parses a safetensors file held in memory. F32 → float32; F16, BF16 (exact) and F64 (rounded to
 * nearest) → float32; I64, I32, I16, I8, U8 → int32 (an I64 value outside the int32 range is a
 * ValueError naming the key); BOOL → bool. Shapes are kept as stored (torch layout).
 *
 * The header is fully validated first (sizes checked with overflow-safe arithmetic, offsets must
 * tile the data exactly as the reference library demands), so a hostile or truncated file ends
 * in a ValueError starting with `readSafetensors:` and nothing larger than the file is allocated.
 * `input` (a Uint8Array or Node Buffer) is only read. The returned tensors are new: the caller owns and disposes them; on an
 * error none is left allocated.
 */
export function readSafetensors(input: Uint8Array): SafetensorsContents {
  // A plain Uint8Array view: a Node Buffer's slice() would alias instead of copying.
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const { entries, metadata, dataStart } = parseSafetensorsHeader(bytes);
  const tensors = new Map<string, tf.Tensor>();
  const dtypes = new Map<string, SafetensorsDtype>();
  try {
    for (const { key, dtype, shape, begin, end } of entries) {
      const raw = bytes.subarray(dataStart + begin, dataStart + end);
      const count = shape.reduce((n, d) => n * d, 1);
      const values = decode(dtype, raw, count, key);
      const tfDtype = dtype === 'BOOL' ? 'bool' : values instanceof Float32Array ? 'float32' : 'int32';
      tensors.set(key, tf.tensor(values, shape, tfDtype));
      dtypes.set(key, dtype);
    }
  } catch (e) {
    for (const t of tensors.values()) t.dispose();
    throw e;
  }
  return { tensors, dtypes, metadata };
}
