// tfjs-core's main entry registers no gradient functions (the @tensorflow/tfjs umbrella does), so
// without this import tf.grad fails for every op. tfjs-core ships them only as ESM with
// extensionless imports, which Node cannot load: jest transpiles this file's import from the
// sources, and the build replaces dist/gradients.js with a CommonJS bundle of the same module
// (scripts/bundle-gradients.mjs). Registration is global and idempotent, like tfjs's own.
// tfjs-core's engine first: its gradient modules use it at import time (a test importing
// @residual/core before tfjs-core otherwise fails building a model).
import '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
