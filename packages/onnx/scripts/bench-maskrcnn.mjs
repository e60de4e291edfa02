// Mask R-CNN R50-FPN inference on one 800×800 image (seeded random weights, torchvision's defaults)
// on the onnxruntime engine, with the split between onnxruntime (dense parts) and TypeScript, and
// on tfjs (wasm) for comparison:
//   node packages/onnx/scripts/bench-maskrcnn.mjs [--repeats 3] [--skip-tfjs]
// Needs the built packages (npm run build, or tsc -b packages/onnx/tsconfig.build.json).
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { Generator, initBackend } from '@residual/core';
import { maskrcnnResnet50Fpn } from '@residual/mask-rcnn';
import { DENSE_STAGES, useEngine } from '@residual/onnx';

const { values: opt } = parseArgs({ options: { repeats: { type: 'string', default: '3' }, 'skip-tfjs': { type: 'boolean', default: false } } });
await initBackend('wasm');
const gen = new Generator(0);
const model = maskrcnnResnet50Fpn({ numClasses: 91, generator: gen }).eval();
const image = tf.tidy(() => tf.clipByValue(tf.add(tf.mul(gen.normalTensor([800, 800, 3]), 0.25), 0.5), 0, 1));
const run = async () => {
  const t = performance.now();
  const dets = await model.predict(image);
  const ms = performance.now() - t;
  const n = dets[0].scores.shape[0];
  tf.dispose(dets.flatMap((d) => [d.boxes, d.scores, d.labels, d.masks]));
  return { ms, detections: n };
};
await useEngine(model, 'onnxruntime');
await run(); // warm-up
for (let i = 0; i < Number(opt.repeats); i++) {
  const { ms, detections } = await run();
  const stages = model.engine.lastTimings;
  const dense = DENSE_STAGES.reduce((a, k) => a + stages[k], 0);
  const rounded = Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, Math.round(v)]));
  console.log(JSON.stringify({ case: 'mrcnn-r50-infer-800', engine: 'onnxruntime', ms: Math.round(ms), denseMs: Math.round(dense), tsShare: Number((1 - dense / ms).toFixed(3)), detections, stages: rounded }));
}
await useEngine(model, 'tfjs');
if (!opt['skip-tfjs']) {
  const { ms, detections } = await run();
  console.log(JSON.stringify({ case: 'mrcnn-r50-infer-800', engine: 'tfjs', ms: Math.round(ms), detections }));
}
image.dispose();
model.dispose();
