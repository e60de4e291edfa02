import { ValueError } from '@residual/core';

/** Test helpers: hand-built safetensors bytes, so hostile files can be written byte by byte. */

/** A safetensors file from a header (object → compact JSON, string used as is) and data bytes. */
export function buildFile(header: object | string, data: Uint8Array | number[] = [], headerLength?: bigint): Uint8Array {
  const text = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLength ?? BigInt(text.length), true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

/** Raw little-endian bytes of float32 values. */
export function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

/** The JSON header text of a safetensors file (padding included). */
export function headerText(file: Uint8Array): string {
  const n = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  return new TextDecoder().decode(file.subarray(8, 8 + n));
}

/** Float32 bit patterns of a tensor's values (so -0, NaN and Inf compare exactly). */
export function float32Bits(values: ArrayLike<number>): number[] {
  return Array.from(new Uint32Array(Float32Array.from(values).buffer));
}

/** Asserts that `fn` throws a ValueError (the class, not just the message) with exactly `message`. */
export function expectValueError(fn: () => unknown, message: string): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ValueError);
  expect((error as Error).message).toBe(message);
}
