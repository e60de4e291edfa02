// Builds the page into dist/: esbuild bundles src/main.ts (the page) and src/model-worker.ts (the Web
// Worker that runs the models) as ES modules; index.html and tfjs-backend-wasm's .wasm files are copied
// (the worker points setWasmPaths at ./wasm/). Serve dist/ with any static server.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const out = join(here, 'dist');

await build({
  entryPoints: { main: join(here, 'src/main.ts'), 'model-worker': join(here, 'src/model-worker.ts') },
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  outdir: out,
  sourcemap: true,
  minify: process.argv.includes('--minify'),
  logLevel: 'warning',
  // core's initBackend imports backend packages by computed name, for Node; the worker imports them itself.
  logOverride: { 'unsupported-dynamic-import': 'silent' },
});

mkdirSync(join(out, 'wasm'), { recursive: true });
copyFileSync(join(here, 'index.html'), join(out, 'index.html'));
const wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
for (const f of readdirSync(wasmDir).filter((name) => name.endsWith('.wasm'))) copyFileSync(join(wasmDir, f), join(out, 'wasm', f));
