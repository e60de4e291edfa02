import { ValueError } from '../errors.js';
import { findDuplicateJsonKey } from './json-duplicate-keys.js';
import { DTYPE_SIZES, MAX_HEADER_BYTES, isSafetensorsDtype, type SafetensorsDtype } from './safetensors.js';

/** One validated tensor entry of a safetensors header; offsets are relative to the data section. */
export interface SafetensorsEntry {
  key: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

/** A validated header: entries in header order, metadata, and where the data section starts. */
export interface SafetensorsHeader {
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
  dataStart: number;
}

const WHERE = 'readSafetensors';

function fail(message: string): never {
  throw new ValueError(`${WHERE}: ${message}`);
}

/** A short JSON rendering of a hostile value for error messages. */
function describe(value: unknown): string {
  const text = value === undefined ? 'nothing' : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** A key as a JSON string literal (escapes control characters), cut short if very long. */
function quote(key: string): string {
  const text = JSON.stringify(key);
  return text.length > 200 ? `${text.slice(0, 197)}..."` : text;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function decodeHeaderText(bytes: Uint8Array): string {
  try {
    // fatal: invalid UTF-8 throws instead of becoming U+FFFD; ignoreBOM keeps a BOM so JSON rejects it.
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return fail('header is not valid UTF-8');
  }
}

function parseMetadata(value: unknown): Record<string, string> {
  if (!isPlainObject(value)) return fail(`__metadata__ must be an object mapping strings to strings, got ${describe(value)}`);
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') fail(`__metadata__ must map strings to strings, but ${quote(k)} is ${describe(v)}`);
  }
  // fromEntries defines own properties, so a "__proto__" key stays a plain entry.
  return Object.fromEntries(Object.entries(value)) as Record<string, string>;
}

function parseEntry(key: string, value: unknown, dataBytes: number): SafetensorsEntry {
  if (!isPlainObject(value)) fail(`${quote(key)} must be an object with dtype, shape and data_offsets, got ${describe(value)}`);
  const { dtype, shape, data_offsets: offsets } = value;
  if (typeof dtype !== 'string') fail(`${quote(key)} dtype must be a string, got ${describe(dtype)}`);
  if (!isSafetensorsDtype(dtype)) {
    fail(`${quote(key)} has unsupported dtype ${describe(dtype)} (supported: ${Object.keys(DTYPE_SIZES).join(', ')})`);
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    fail(`${quote(key)} shape must be an array of non-negative integers, got ${describe(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    fail(`${quote(key)} data_offsets must be [begin, end] with non-negative integers, got ${describe(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) fail(`${quote(key)} data_offsets [${begin},${end}] are reversed`);
  if (end > dataBytes) fail(`${quote(key)} data_offsets [${begin},${end}] run past the ${dataBytes} data bytes of the file`);
  // BigInt: a declared shape like [2^40, 2^40] must not overflow into a plausible size.
  const elements = (shape as number[]).reduce((n, d) => n * BigInt(d), 1n);
  const needed = elements * BigInt(DTYPE_SIZES[dtype]);
  if (needed !== BigInt(end - begin)) {
    fail(`${quote(key)} shape [${(shape as number[]).join(',')}] of ${dtype} needs ${needed} bytes, but data_offsets [${begin},${end}] hold ${end - begin}`);
  }
  return { key, dtype, shape: shape as number[], begin, end };
}

/**
 * Checks that the entries tile the data section exactly, as the reference library does
 * (`Metadata::validate`): sorted by offsets, each starts where the previous ended, and the last
 * ends at the end of the file. Gaps, overlaps and trailing bytes are all errors.
 */
function checkContiguous(entries: SafetensorsEntry[], dataBytes: number): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let previous = '';
  for (const e of sorted) {
    if (e.begin < cursor) {
      fail(`${quote(e.key)} data_offsets [${e.begin},${e.end}] overlap ${quote(previous)}, which ends at ${cursor}`);
    }
    if (e.begin > cursor) {
      fail(`${quote(e.key)} data_offsets [${e.begin},${e.end}] leave bytes ${cursor}..${e.begin} unused (tensor data must be contiguous)`);
    }
    cursor = e.end;
    previous = e.key;
  }
  if (cursor !== dataBytes) {
    fail(`tensor data ends at byte ${cursor} of the data section, but the file has ${dataBytes} data bytes`);
  }
}

/**
 * Parses and validates the header of a safetensors file without allocating anything larger than
 * the file. Throws a ValueError (`readSafetensors: ...`) naming what is wrong and which key.
 */
export function parseSafetensorsHeader(bytes: Uint8Array): SafetensorsHeader {
  if (bytes.byteLength < 8) fail(`file is ${bytes.byteLength} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, 8);
  const declared = view.getBigUint64(0, true);
  if (declared > BigInt(MAX_HEADER_BYTES)) {
    fail(`header length ${declared} is larger than the ${MAX_HEADER_BYTES}-byte limit`);
  }
  const headerBytes = Number(declared);
  if (headerBytes > bytes.byteLength - 8) {
    fail(`header length ${headerBytes} exceeds the ${bytes.byteLength - 8} bytes that follow it`);
  }
  const text = decodeHeaderText(bytes.subarray(8, 8 + headerBytes));
  if (!text.startsWith('{')) fail(`header must be a JSON object starting with "{", got ${describe(text.slice(0, 20))}`);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(header)) fail(`header must be a JSON object, got ${describe(header)}`);
  const duplicate = findDuplicateJsonKey(text);
  if (duplicate !== undefined) fail(`header has the key ${quote(duplicate)} twice`);

  const dataStart = 8 + headerBytes;
  const dataBytes = bytes.byteLength - dataStart;
  const entries: SafetensorsEntry[] = [];
  let metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(header)) {
    if (key === '__metadata__') metadata = parseMetadata(value);
    else entries.push(parseEntry(key, value, dataBytes));
  }
  checkContiguous(entries, dataBytes);
  return { entries, metadata, dataStart };
}
