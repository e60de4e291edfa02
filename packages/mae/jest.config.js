// tfjs-core's CJS bundle registers no gradients; tests that train require tfjs-core's ESM
// `dist/register_all_gradients.js`, so that folder is transpiled too (the registries are global).
module.exports = {
  ...require('../../jest.preset.js'),
  displayName: 'mae',
  transformIgnorePatterns: ['/node_modules/(?!@tensorflow/tfjs-core/dist/)'],
};
