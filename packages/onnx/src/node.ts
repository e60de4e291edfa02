// Node-only entry `@residual/onnx/node`: file output that the browser-safe main entry leaves out.
export { saveOnnx, saveDetectorOnnx } from './onnx-file.js';
