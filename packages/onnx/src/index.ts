export { toOnnx, buildOnnxGraph, type ToOnnxOptions, type OnnxExport, type OnnxLayout, type Exportable } from './to-onnx.js';
export { OnnxGraph, ONNX_OPSET, ONNX_IR_VERSION, type Attr, type Dim } from './onnx-graph.js';
export { encodeModel, decodeModel, type ModelInit } from './onnx-schema.js';
export { OnnxSession, type HostTensor, type OnnxSessionOptions } from './onnx-session.js';
export {
  loadOnnxruntime,
  OnnxruntimeUnavailableError,
  type OrtModule,
  type OrtSession,
  type OrtSessionOptions,
  type OrtTensor,
} from './onnxruntime-loader.js';
export { OnnxruntimeDetectorEngine, DENSE_STAGES, type DetectorEngine, type EngineStage } from './onnxruntime-engine.js';
export { useEngine, ENGINE_NAMES, type EngineName } from './use-engine.js';
export { rpnProposals } from './rpn-proposals.js';
export {
  exportDetector,
  type DetectorExport,
  type DetectorManifest,
  type DetectorPartManifest,
  type ExportDetectorOptions,
} from './detector-export.js';
export { benchResnet50Forward, type BenchResnetOptions, type BenchResult } from './bench-resnet.js';
