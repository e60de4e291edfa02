// Flat config: typescript-eslint recommended + the project's rules (style.md §2.9).
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';

// Dependency direction (style.md §2.2): a package may import only packages to its left.
const allowed = {
  core: [],
  'test-utils': ['core'],
  resnet: ['core'],
  fpn: ['core', 'resnet'],
  rpn: ['core', 'resnet', 'fpn'],
  'faster-rcnn': ['core', 'resnet', 'fpn', 'rpn'],
  'mask-rcnn': ['core', 'resnet', 'fpn', 'rpn', 'faster-rcnn'],
  vit: ['core'],
  onnx: ['core', 'resnet', 'fpn', 'rpn', 'faster-rcnn', 'mask-rcnn', 'vit'],
  mae: ['core', 'vit'],
  data: ['core'],
  eval: ['core'],
  cli: ['core', 'resnet', 'fpn', 'rpn', 'faster-rcnn', 'mask-rcnn', 'vit', 'mae', 'data', 'eval', 'onnx'],
};
const all = Object.keys(allowed);
const boundaryBlocks = Object.entries(allowed).map(([pkg, deps]) => ({
  files: [`packages/${pkg}/src/**/*.ts`],
  ignores: ['**/*.test.ts'],
  rules: {
    'no-restricted-imports': ['error', {
      patterns: [
        { group: ['@residual/*/src/*', '@residual/*/dist/*', '../../*/src/*'], message: 'import packages by name only' },
        ...all.filter((p) => p !== pkg && !deps.includes(p)).map((p) => ({
          group: [`@residual/${p}`, `@residual/${p}/*`],
          message: `@residual/${pkg} may not depend on @residual/${p} (style.md §2.2)`,
        })),
      ],
    }],
  },
}));

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/*.js', '**/*.mjs', 'tools/**', 'examples/**'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['packages/*/src/**/*.ts', 'packages/*/test/**/*.ts'],
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/explicit-module-boundary-types': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import-x/no-default-export': 'error',
      'import-x/no-cycle': 'error',
      'no-console': 'error',
    },
  },
  {
    files: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.ts'],
    rules: { '@typescript-eslint/explicit-module-boundary-types': 'off', 'no-console': 'off' },
  },
  ...boundaryBlocks,
);
