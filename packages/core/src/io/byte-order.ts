import { HOST_IS_LITTLE_ENDIAN } from './safetensors.js';

/**
 * Reverses the bytes of every `size`-byte element of `bytes` in place when the host is
 * big-endian, turning safetensors' little-endian data into native order (or back); a no-op on
 * little-endian hosts, which is every Node and browser target in practice.
 */
export function swapToNativeOrder(bytes: Uint8Array, size: number): void {
  if (HOST_IS_LITTLE_ENDIAN || size === 1) return;
  for (let i = 0; i < bytes.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) {
      const t = bytes[a];
      bytes[a] = bytes[b];
      bytes[b] = t;
    }
  }
}

/**
 * A copy of `src` in a fresh, zero-offset ArrayBuffer in native byte order, so typed-array views
 * of any element size can be built on it. The caller owns the copy.
 */
export function nativeCopy(src: Uint8Array, size: number): ArrayBuffer {
  const copy = src.slice();
  swapToNativeOrder(copy, size);
  return copy.buffer;
}
