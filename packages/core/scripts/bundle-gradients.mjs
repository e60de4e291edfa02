// Replaces dist/gradients.js (tsc's one-line require of an ESM-only file) with a CommonJS bundle of
// tfjs-core's register_all_gradients. The bundle's private copies of tfjs-core helpers talk to the
// one global engine and registries that tfjs-core keeps on the global object, so gradients
// registered here serve the CommonJS tfjs-core that the rest of the package uses.
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

await build({
  entryPoints: [require.resolve('@tensorflow/tfjs-core/dist/register_all_gradients.js')],
  bundle: true,
  format: 'cjs',
  platform: 'neutral',
  target: 'es2020',
  outfile: join(here, '..', 'dist', 'gradients.js'),
  logLevel: 'warning',
  legalComments: 'eof',
  // The real tfjs-core must create the global engine and flags before the bundle's private copies
  // run, or they would build an engine of their own that tfjs-core then adopts half-initialised.
  banner: { js: 'require("@tensorflow/tfjs-core");' },
});
