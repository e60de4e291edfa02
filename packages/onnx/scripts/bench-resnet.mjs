// ResNet-50 224 forward through the onnxruntime engine and tfjs (wasm), batch 1 and 8:
//   node packages/onnx/scripts/bench-resnet.mjs [--batches 1,8] [--repeats 5] [--skip-tfjs]
// Needs the built packages (npm run build, or tsc -b packages/onnx/tsconfig.build.json).
import { parseArgs } from 'node:util';
import { initBackend } from '@residual/core';
import { benchResnet50Forward } from '@residual/onnx';

const { values: opt } = parseArgs({
  options: {
    batches: { type: 'string', default: '1,8' },
    repeats: { type: 'string', default: '5' },
    'skip-tfjs': { type: 'boolean', default: false },
  },
});
await initBackend('wasm');
for (const batch of opt.batches.split(',').map(Number)) {
  for (const engine of opt['skip-tfjs'] ? ['onnxruntime'] : ['onnxruntime', 'tfjs']) {
    const r = await benchResnet50Forward({ batch, engine, repeats: Number(opt.repeats) });
    console.log(JSON.stringify({ case: 'resnet50-fwd', engine, batch, medianMs: Number(r.medianMs.toFixed(1)), timesMs: r.timesMs.map((v) => Number(v.toFixed(1))), setupMs: Math.round(r.setupMs) }));
  }
}
