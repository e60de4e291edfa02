// Checks that the main entry of every browser-facing package bundles for the browser: esbuild with
// platform 'browser' fails on any Node built-in (node:fs, worker_threads, ...) or on sharp reached from it.
// Node-only code belongs behind a `/node` entry (e.g. @residual/core/node). Runs in this package's build.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const ENTRIES = [
  '@residual/core', '@residual/core/worker', '@residual/resnet', '@residual/fpn', '@residual/rpn',
  '@residual/faster-rcnn', '@residual/mask-rcnn', '@residual/vit', '@residual/mae', '@residual/eval',
];

// One bundle of all entries: esbuild parses tfjs once. An error names the file that imported the Node module.
const contents = ENTRIES.map((entry, i) => `export * as e${i} from '${entry}';`).join('\n');
try {
  await build({ stdin: { contents, resolveDir: fileURLToPath(new URL('.', import.meta.url)) }, bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent' });
} catch (e) {
  const reasons = (e.errors ?? [{ text: String(e) }]).slice(0, 10).map((x) => `${x.text}${x.location ? ` (imported by ${x.location.file})` : ''}`);
  console.error(`Entries that must run in browsers reach Node-only modules:\n  ${reasons.join('\n  ')}`);
  process.exit(1);
}
console.log(`${ENTRIES.length} entries bundle for the browser`);
