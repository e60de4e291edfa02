import * as tf from '@tensorflow/tfjs-core';
import { ValueError } from '../errors.js';

/** Element types of the safetensors format that residual reads and writes. */
export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** Result of {@link readSafetensors}: tensors (caller owns), their file dtypes and the metadata. */
export interface SafetensorsContents {
  tensors: Map<string, tf.Tensor>;
  dtypes: Map<string, SafetensorsDtype>;
  metadata: Record<string, string>;
}


/** Decodes an IEEE half into a number. */
function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

function decode(dtype: SafetensorsDtype, bytes: Uint8Array, count: number, key: string): tf.TypedArray {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    }
    case 'F64': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true);
      return out;
    }
    case 'F16': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
      return out;
    }
    case 'BF16': {
      const out = new Float32Array(count);
      const u32 = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) u32[i] = view.getUint16(i * 2, true) << 16;
      return out;
    }
    case 'I64': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const v = view.getBigInt64(i * 8, true);
        if (v > 2147483647n || v < -2147483648n) {
          throw new ValueError(`readSafetensors: "${key}" holds I64 value ${v} outside the int32 range`);
        }
        out[i] = Number(v);
      }
      return out;
    }
    case 'I32': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4, true);
      return out;
    }
    case 'I16': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt16(i * 2, true);
      return out;
    }
    case 'I8': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt8(i);
      return out;
    }
    case 'U8':
    case 'BOOL':
      return Int32Array.from(bytes.subarray(0, count));
  }
}

/**
 * Parses a safetensors file. F16/BF16/F64 widen to float32, integers to int32, BOOL to bool.
 * Returned tensors are the caller's to dispose.
 */
export function readSafetensors(bytes: Uint8Array): SafetensorsContents {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 8) throw new ValueError(`readSafetensors: file is ${bytes.byteLength} bytes, shorter than its 8-byte header length`);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > bytes.byteLength - 8) {
    throw new ValueError(`readSafetensors: header length ${headerLen} exceeds the file size ${bytes.byteLength}`);
  }
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen))) as Record<string, unknown>;
  const data = bytes.subarray(8 + headerLen);
  const tensors = new Map<string, tf.Tensor>();
  const dtypes = new Map<string, SafetensorsDtype>();
  let metadata: Record<string, string> = {};
  for (const [key, entry] of Object.entries(header)) {
    if (key === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets: [begin, end] } = entry as { dtype: SafetensorsDtype; shape: number[]; data_offsets: [number, number] };
    const count = shape.reduce((a, b) => a * b, 1);
    const values = decode(dtype, data.subarray(begin, end), count, key);
    tensors.set(key, tf.tensor(values, shape, dtype === 'BOOL' ? 'bool' : values instanceof Float32Array ? 'float32' : 'int32'));
    dtypes.set(key, dtype);
  }
  return { tensors, dtypes, metadata };
}
