module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'onnx',
  // onnxruntime-node's outputs come from Node's main realm (see test/ort-environment.js).
  testEnvironment: '<rootDir>/test/ort-environment.js',
};
