export { readSafetensors, type SafetensorsDtype, type SafetensorsContents } from './safetensors.js';
