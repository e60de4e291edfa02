import { crc32, inflateRawSync } from 'node:zlib';
import { ValueError } from '@residual/core';

/** One file of a zip archive, as its central directory describes it. */
export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflate (the only two methods read). */
  method: number;
  compressedSize: number;
  size: number;
  crc: number;
  localHeaderOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const U32_MAX = 0xffffffff;

/**
 * A zip archive held in memory, read through its central directory (the layout torch.save writes:
 * stored entries, 64-byte aligned data, ZIP64 records for large files; deflate is read as well).
 * Every size and offset is checked against the buffer, so a truncated or hostile file ends in a
 * ValueError naming `file` instead of a read out of bounds. Bytes are only read, never copied
 * for stored entries.
 */
export class ZipArchive {
  /** Entries by name, in central-directory order. */
  readonly entries: Map<string, ZipEntry>;

  constructor(
    private readonly bytes: Uint8Array,
    /** The file name used in error messages. */
    readonly file: string,
  ) {
    this.entries = readCentralDirectory(bytes, (message) => this.fail(message));
  }

  /** True when `bytes` starts with a zip local-file signature ("PK\3\4"). */
  static isZip(bytes: Uint8Array): boolean {
    return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
  }

  /** The uncompressed bytes of entry `name`, CRC-checked (a view into the archive for stored entries). */
  read(name: string): Uint8Array {
    const entry = this.entries.get(name);
    if (entry === undefined) this.fail(`has no entry ${JSON.stringify(name)}`);
    const { bytes } = this;
    const at = entry.localHeaderOffset;
    if (at + 30 > bytes.length || u32(bytes, at) !== LOCAL) this.fail(`entry ${JSON.stringify(name)} has no local header at byte ${at}`);
    const start = at + 30 + u16(bytes, at + 26) + u16(bytes, at + 28);
    if (start + entry.compressedSize > bytes.length) {
      this.fail(`entry ${JSON.stringify(name)} runs past the end of the file (truncated?)`);
    }
    const raw = bytes.subarray(start, start + entry.compressedSize);
    let data: Uint8Array;
    if (entry.method === 0) {
      data = raw;
    } else if (entry.method === 8) {
      try {
        data = inflateRawSync(raw, { maxOutputLength: Math.max(entry.size, 1) });
      } catch (e) {
        this.fail(`entry ${JSON.stringify(name)} cannot be inflated (${(e as Error).message})`);
      }
    } else {
      this.fail(`entry ${JSON.stringify(name)} uses compression method ${entry.method}; only stored (0) and deflate (8) are read`);
    }
    if (data.length !== entry.size) this.fail(`entry ${JSON.stringify(name)} holds ${data.length} bytes, its header says ${entry.size}`);
    if (crc32(data) >>> 0 !== entry.crc) this.fail(`entry ${JSON.stringify(name)} fails its CRC-32 check (corrupt file)`);
    return data;
  }

  private fail(message: string): never {
    throw new ValueError(`readZip: ${this.file} ${message}`);
  }
}

function u16(b: Uint8Array, at: number): number {
  return b[at] | (b[at + 1] << 8);
}

function u32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

/** A little-endian u64 as a number; values past 2^53 are refused (no real file is that large). */
function u64(b: Uint8Array, at: number, fail: (m: string) => never): number {
  const value = u32(b, at) + u32(b, at + 4) * 2 ** 32;
  if (!Number.isSafeInteger(value)) fail(`has a 64-bit size or offset ${value} beyond 2^53`);
  return value;
}

function findEndOfCentralDirectory(b: Uint8Array, fail: (m: string) => never): number {
  // The record is 22 bytes plus a comment of at most 65535 bytes, so it lies in the last 65557.
  for (let at = b.length - 22; at >= Math.max(0, b.length - 22 - 65535); at--) {
    if (u32(b, at) === EOCD) return at;
  }
  return fail('has no end-of-central-directory record (truncated or not a zip file)');
}

function readCentralDirectory(b: Uint8Array, fail: (m: string) => never): Map<string, ZipEntry> {
  const eocd = findEndOfCentralDirectory(b, fail);
  let count = u16(b, eocd + 10);
  let size = u32(b, eocd + 12);
  let offset = u32(b, eocd + 16);
  if (count === 0xffff || size === U32_MAX || offset === U32_MAX) {
    const locator = eocd - 20;
    if (locator < 0 || u32(b, locator) !== ZIP64_LOCATOR) fail('needs a ZIP64 end-of-central-directory locator but has none');
    const record = u64(b, locator + 8, fail);
    if (record + 56 > b.length || u32(b, record) !== ZIP64_EOCD) fail(`has no ZIP64 end-of-central-directory record at byte ${record}`);
    count = u64(b, record + 32, fail);
    size = u64(b, record + 40, fail);
    offset = u64(b, record + 48, fail);
  }
  if (offset + size > b.length) fail(`central directory [${offset}, ${offset + size}) runs past the ${b.length}-byte file (truncated?)`);
  const entries = new Map<string, ZipEntry>();
  let at = offset;
  for (let i = 0; i < count; i++) {
    if (at + 46 > offset + size || u32(b, at) !== CENTRAL) fail(`central directory entry ${i} is malformed`);
    const nameLength = u16(b, at + 28);
    const extraLength = u16(b, at + 30);
    const commentLength = u16(b, at + 32);
    const end = at + 46 + nameLength + extraLength + commentLength;
    if (end > offset + size) fail(`central directory entry ${i} runs past the directory`);
    const name = new TextDecoder().decode(b.subarray(at + 46, at + 46 + nameLength));
    const entry: ZipEntry = {
      name,
      method: u16(b, at + 10),
      crc: u32(b, at + 16),
      compressedSize: u32(b, at + 20),
      size: u32(b, at + 24),
      localHeaderOffset: u32(b, at + 42),
    };
    applyZip64Extra(b, at + 46 + nameLength, extraLength, entry, fail);
    if (entries.has(name)) fail(`has the entry ${JSON.stringify(name)} twice`);
    entries.set(name, entry);
    at = end;
  }
  return entries;
}

/** Replaces 0xFFFFFFFF sizes/offset by the values of the ZIP64 extra field (id 1), in its fixed order. */
function applyZip64Extra(b: Uint8Array, start: number, length: number, e: ZipEntry, fail: (m: string) => never): void {
  for (let at = start; at + 4 <= start + length; ) {
    const id = u16(b, at);
    const size = u16(b, at + 2);
    if (id === 0x0001) {
      let p = at + 4;
      const next = (): number => {
        if (p + 8 > at + 4 + size) fail(`entry ${JSON.stringify(e.name)} has a short ZIP64 extra field`);
        const v = u64(b, p, fail);
        p += 8;
        return v;
      };
      if (e.size === U32_MAX) e.size = next();
      if (e.compressedSize === U32_MAX) e.compressedSize = next();
      if (e.localHeaderOffset === U32_MAX) e.localHeaderOffset = next();
    }
    at += 4 + size;
  }
}
