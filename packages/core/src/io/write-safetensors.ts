import type * as tf from '@tensorflow/tfjs-core';
import { ValueError } from '../errors.js';
import { swapToNativeOrder } from './byte-order.js';
import { floatBitsToBfloat16Bits, floatBitsToHalfBits } from './half-precision.js';
import {
  DTYPE_SIZES,
  DTYPE_WRITE_RANK,
  isSafetensorsDtype,
  type SafetensorsDtype,
  type WriteSafetensorsOptions,
} from './safetensors.js';

const WHERE = 'writeSafetensors';

/** Inclusive integer ranges of the integer dtypes (and BOOL as 0..1). */
const INTEGER_RANGES: Partial<Record<SafetensorsDtype, [number, number]>> = {
  I64: [-(2 ** 63), 2 ** 63 - 1],
  I32: [-(2 ** 31), 2 ** 31 - 1],
  I16: [-32768, 32767],
  I8: [-128, 127],
  U8: [0, 255],
  BOOL: [0, 1],
};

interface Planned {
  key: string;
  tensor: tf.Tensor;
  dtype: SafetensorsDtype;
  begin: number;
  end: number;
}

/** The default file dtype of a tensor (api-contract "Safetensors"). */
function defaultDtype(key: string, t: tf.Tensor): SafetensorsDtype {
  if (t.dtype === 'bool') return 'BOOL';
  if (t.dtype === 'int32') return key === 'num_batches_tracked' || key.endsWith('.num_batches_tracked') ? 'I64' : 'I32';
  return 'F32';
}

/** Orders strings by code point, which is the UTF-8 byte order the reference library sorts by. */
function compareCodePoints(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = (x[i].codePointAt(0) as number) - (y[i].codePointAt(0) as number);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

function checkIntegers(key: string, dtype: SafetensorsDtype, values: tf.TypedArray): void {
  const range = INTEGER_RANGES[dtype];
  if (!range) return;
  const alwaysFits = (values instanceof Int32Array || values instanceof Uint8Array) && (dtype === 'I64' || dtype === 'I32');
  if (alwaysFits) return;
  const [lo, hi] = range;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    // `hi` of I64 rounds up to 2^63 as a double, hence `<` for it.
    if (!(Number.isInteger(v) && v >= lo && (dtype === 'I64' ? v < hi : v <= hi))) {
      throw new ValueError(
        `${WHERE}: ${JSON.stringify(key)} value ${v} at index ${i} does not fit ${dtype} (integers ${dtype === 'I64' ? '-2^63..2^63-1' : `${lo}..${hi}`})`,
      );
    }
  }
}

function floatBits(values: tf.TypedArray): Uint32Array {
  const floats = values instanceof Float32Array ? values : Float32Array.from(values);
  return new Uint32Array(floats.buffer, floats.byteOffset, floats.length);
}

/** Encodes `values` as `dtype` into `out` (exactly count × size bytes, aligned to the element size). */
function encode(dtype: SafetensorsDtype, values: tf.TypedArray, out: Uint8Array): void {
  const { buffer, byteOffset } = out;
  const n = values.length;
  switch (dtype) {
    case 'F64':
      new Float64Array(buffer, byteOffset, n).set(values);
      break;
    case 'F32':
      new Float32Array(buffer, byteOffset, n).set(values);
      break;
    case 'F16':
    case 'BF16': {
      const bits = floatBits(values); // int32 goes through float32 first, as c10::Half(float) does
      const halves = new Uint16Array(buffer, byteOffset, n);
      const convert = dtype === 'F16' ? floatBitsToHalfBits : floatBitsToBfloat16Bits;
      for (let i = 0; i < n; i++) halves[i] = convert(bits[i]);
      break;
    }
    case 'I64': {
      const words = new Int32Array(buffer, byteOffset, 2 * n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        const high = Math.floor(v / 4294967296); // exact: v is an integer below 2^63
        words[2 * i] = v - high * 4294967296; // wraps to the low word's two's complement
        words[2 * i + 1] = high;
      }
      swapToNativeOrder(out, 4); // per word: native → little-endian, low word first
      return;
    }
    case 'I32':
      new Int32Array(buffer, byteOffset, n).set(values);
      break;
    case 'I16':
      new Int16Array(buffer, byteOffset, n).set(values);
      break;
    case 'I8':
      new Int8Array(buffer, byteOffset, n).set(values);
      break;
    case 'U8':
    case 'BOOL':
      out.set(values);
      break;
  }
  swapToNativeOrder(out, DTYPE_SIZES[dtype]);
}

function plan(tensors: Map<string, tf.Tensor> | Record<string, tf.Tensor>, options: WriteSafetensorsOptions): Planned[] {
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const requested = options.dtypes ?? {};
  const names = new Set(entries.map(([k]) => k));
  for (const [key, dtype] of Object.entries(requested)) {
    if (!names.has(key)) throw new ValueError(`${WHERE}: options.dtypes names ${JSON.stringify(key)}, which is not among the tensors`);
    if (!isSafetensorsDtype(dtype)) {
      throw new ValueError(`${WHERE}: options.dtypes[${JSON.stringify(key)}] must be a safetensors dtype, got ${JSON.stringify(dtype)}`);
    }
  }
  const planned = entries.map(([key, tensor]): Planned => {
    if (typeof key !== 'string') throw new ValueError(`${WHERE}: tensor keys must be strings, got ${typeof key}`);
    if (key === '__metadata__') throw new ValueError(`${WHERE}: "__metadata__" is reserved and cannot name a tensor`);
    if (tensor == null || typeof tensor.dataSync !== 'function') {
      throw new ValueError(`${WHERE}: ${JSON.stringify(key)} must be a tf.Tensor, got ${tensor === null ? 'null' : typeof tensor}`);
    }
    if (tensor.isDisposed) throw new ValueError(`${WHERE}: ${JSON.stringify(key)} is a disposed tensor`);
    if (!['float32', 'int32', 'bool'].includes(tensor.dtype)) {
      throw new ValueError(`${WHERE}: ${JSON.stringify(key)} has dtype ${tensor.dtype}; only float32, int32 and bool can be written`);
    }
    const dtype = Object.prototype.hasOwnProperty.call(requested, key) ? requested[key] : defaultDtype(key, tensor);
    return { key, tensor, dtype, begin: 0, end: 0 };
  });
  // The reference layout: widest dtypes first, then by name, so each tensor is aligned to its size.
  planned.sort((a, b) => DTYPE_WRITE_RANK[a.dtype] - DTYPE_WRITE_RANK[b.dtype] || compareCodePoints(a.key, b.key));
  let offset = 0;
  for (const p of planned) {
    p.begin = offset;
    offset += p.tensor.size * DTYPE_SIZES[p.dtype];
    p.end = offset;
  }
  return planned;
}

function headerJson(planned: Planned[], metadata: Record<string, string> | undefined): string {
  const parts: string[] = [];
  if (metadata !== undefined) {
    const keys = Object.keys(metadata).sort(compareCodePoints);
    for (const k of keys) {
      if (typeof metadata[k] !== 'string') {
        throw new ValueError(`${WHERE}: metadata values must be strings, but ${JSON.stringify(k)} is ${typeof metadata[k]}`);
      }
    }
    parts.push(`"__metadata__":{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(',')}}`);
  }
  for (const p of planned) {
    parts.push(`${JSON.stringify(p.key)}:{"dtype":"${p.dtype}","shape":[${p.tensor.shape.join(',')}],"data_offsets":[${p.begin},${p.end}]}`);
  }
  return `{${parts.join(',')}}`;
}

/**
 * Serializes tensors to safetensors bytes, byte-for-byte as the reference library lays them out:
 * tensors ordered by dtype width (I64, F64, F32, I32, BF16, F16, I16, I8, U8, BOOL) then by name,
 * data contiguous and aligned, `__metadata__` first (keys sorted), header padded with spaces to a
 * multiple of 8.
 *
 * Default file dtypes: F32 for float32, BOOL for bool, I64 for int32 keys named
 * `num_batches_tracked` (or ending in `.num_batches_tracked`), else I32. `options.dtypes` may ask
 * for any dtype per key: F16 and BF16 round to nearest even (NaN and ±Inf preserved, overflow to
 * ±Inf, as torch); integer dtypes and BOOL refuse values that are not integers in range with a
 * ValueError naming the key, the index and the value. Shapes are written as they are (callers
 * convert NHWC to torch layout first). Reads tensors with dataSync; never disposes them.
 */
export function writeSafetensors(
  tensors: Map<string, tf.Tensor> | Record<string, tf.Tensor>,
  options: WriteSafetensorsOptions = {},
): Uint8Array {
  const planned = plan(tensors, options);
  let header = new TextEncoder().encode(headerJson(planned, options.metadata));
  const padded = Math.ceil(header.length / 8) * 8;
  if (padded !== header.length) {
    const spaced = new Uint8Array(padded).fill(0x20);
    spaced.set(header);
    header = spaced;
  }
  const dataBytes = planned.length > 0 ? planned[planned.length - 1].end : 0;
  const file = new Uint8Array(8 + header.length + dataBytes);
  new DataView(file.buffer).setBigUint64(0, BigInt(header.length), true);
  file.set(header, 8);
  const dataStart = 8 + header.length; // a multiple of 8, so every tensor start is aligned
  for (const p of planned) {
    const values = p.tensor.dataSync();
    checkIntegers(p.key, p.dtype, values);
    encode(p.dtype, values, file.subarray(dataStart + p.begin, dataStart + p.end));
  }
  return file;
}
