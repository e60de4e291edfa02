import { ValueError, readSafetensors, type SafetensorsContents } from '@residual/core';
import type { RawTensor } from './torch-checkpoint.js';

/**
 * Turns raw little-endian tensors into tfjs tensors through core's safetensors decoder, so every
 * dtype widens exactly as {@link readSafetensors} documents (F16/BF16 exact, F64 rounded to float32,
 * I64 → int32 with a ValueError naming the key when a value does not fit, BOOL → bool). The tensors
 * are laid out in one in-memory safetensors buffer first (a transient copy of the data). The
 * returned tensors are the caller's to dispose.
 */
export function rawTensorsToContents(tensors: Map<string, RawTensor>, metadata: Record<string, string> = {}): SafetensorsContents {
  // No prototype: a tensor named "__proto__" must become a plain JSON key.
  const header: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  header.__metadata__ = metadata;
  let offset = 0;
  for (const [key, t] of tensors) {
    if (key === '__metadata__') throw new ValueError('rawTensorsToContents: "__metadata__" cannot name a tensor in safetensors');
    header[key] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.length] };
    offset += t.data.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const file = new Uint8Array(8 + json.length + offset);
  new DataView(file.buffer).setBigUint64(0, BigInt(json.length), true);
  file.set(json, 8);
  let at = 8 + json.length;
  for (const t of tensors.values()) {
    file.set(t.data, at);
    at += t.data.length;
  }
  return readSafetensors(file);
}
