// Shared jest settings: swc transpiles TS (type-checking is `tsc -b`'s job in the build target),
// and workspace packages resolve to their sources so tests never depend on a stale dist/.
const path = require('node:path');

const packagesDir = path.join(__dirname, 'packages');

module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.(t|m?j)s$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  moduleNameMapper: {
    '^@residual/([a-z-]+)$': `${packagesDir}/$1/src/index.ts`,
    '^@residual/([a-z-]+)/(node|worker)$': `${packagesDir}/$1/src/$2.ts`,
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  // tfjs-core's gradient registrations exist only as ESM (see packages/core/src/gradients.ts):
  // let swc transpile tfjs-core's ESM files, but not its CommonJS bundles (tf-core*.js).
  transformIgnorePatterns: ['/node_modules/(?!@tensorflow/tfjs-core/dist/(?!tf-core))'],
  testMatch: ['**/?(*.)test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  testTimeout: 60000,
};
