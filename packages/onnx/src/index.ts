/**
 * @residual/onnx: ONNX export and the onnxruntime-node engine (in progress).
 */
export {};
