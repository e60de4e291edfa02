export {
  type SafetensorsDtype,
  type SafetensorsContents,
  type WriteSafetensorsOptions,
} from './safetensors.js';
export { readSafetensors } from './read-safetensors.js';
export { writeSafetensors } from './write-safetensors.js';
export { findNonFinite, type NonFiniteValue } from './find-non-finite.js';
