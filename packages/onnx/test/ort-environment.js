// jest runs each test file in its own vm realm, but onnxruntime-node's native binding creates its
// output arrays in Node's main realm, and onnxruntime-common then rejects them with
// `instanceof Float32Array` (a different constructor in the sandbox). This environment gives the
// sandbox the main realm's typed-array constructors, so both sides agree. Tests only.
const { TestEnvironment } = require('jest-environment-node');

const SHARED = [
  'Float32Array', 'Float64Array', 'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array',
  'Int32Array', 'Uint32Array', 'BigInt64Array', 'BigUint64Array',
];

class OrtEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) this.global[name] = globalThis[name];
  }
}

module.exports = OrtEnvironment;
