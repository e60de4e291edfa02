import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Generator } from '@residual/core';
import { saveSafetensors } from '@residual/core/node';
import { decodeModel } from '@residual/onnx';
import { resnet18 } from '@residual/resnet';
import { useBackend } from '@residual/test-utils';
import { DETECTORS } from '../src/arch-table.js';
import { runCli, tempDir } from './run-cli.js';

// onnxruntime runs in a child process: its native outputs come from Node's main realm, which jest's
// sandboxed typed arrays do not recognise (see packages/onnx/test/ort-environment.js).
function runOnnxruntime(model: string, input: Float32Array, dims: number[]): { names: string[]; logits: number[] } {
  const script = `
    const ort = require('onnxruntime-node');
    const fs = require('node:fs');
    (async () => {
      const s = await ort.InferenceSession.create(fs.readFileSync(process.argv[1]));
      const data = new Float32Array(JSON.parse(fs.readFileSync(0, 'utf8')));
      const out = await s.run({ input: new ort.Tensor('float32', data, JSON.parse(process.argv[2])) });
      process.stdout.write(JSON.stringify({ names: s.outputNames, logits: Array.from(out.logits.data) }));
    })();`;
  const r = spawnSync(process.execPath, ['-e', script, model, JSON.stringify(dims)], { input: JSON.stringify(Array.from(input)), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`onnxruntime child failed (${r.status}, ${String(r.error)}): ${r.stderr}`);
  return JSON.parse(r.stdout) as { names: string[]; logits: number[] };
}

beforeAll(async () => {
  await useBackend();
});

describe('residual export', () => {
  it('writes a classifier as one ONNX file whose logits (onnxruntime, NCHW) are the tfjs model\'s', async () => {
    const dir = tempDir();
    const model = resnet18({ numClasses: 4, generator: new Generator(3) }).eval();
    const weights = path.join(dir, 'r18.safetensors');
    const dict = model.stateDict();
    await saveSafetensors(weights, dict);
    tf.dispose([...dict.values()]);
    const out = path.join(dir, 'r18.onnx');
    const r = await runCli(['export', '--arch', 'resnet18', '--weights', weights, '--out', out, '--image-size', '64', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ arch: 'resnet18', out, bytes: fs.statSync(out).size, layout: 'nchw' });
    const graph = decodeModel(fs.readFileSync(out)).graph;
    expect(graph.input[0].type.tensor_type.shape?.dim).toEqual([{ dim_param: 'batch' }, { dim_value: 3 }, { dim_value: 64 }, { dim_value: 64 }]);
    const x = tf.randomUniform([2, 64, 64, 3], -1, 1, 'float32', 4) as tf.Tensor4D;
    const nchw = tf.transpose(x, [0, 3, 1, 2]);
    const got = runOnnxruntime(out, nchw.dataSync() as Float32Array, [2, 3, 64, 64]);
    const want = model.forward(x);
    const w = want.dataSync();
    expect(got.names).toEqual(['logits']);
    const scale = Math.max(...Array.from(w, Math.abs));
    expect(Math.max(...got.logits.map((v, i) => Math.abs(v - w[i]))) / scale).toBeLessThan(1e-5);
    tf.dispose([x, nchw, want]);
    model.dispose();
  }, 120000);

  it('writes a Mask R-CNN as a directory of ONNX parts and manifest.json', async () => {
    const dir = tempDir();
    const model = DETECTORS.maskrcnn('resnet18', { numClasses: 3, generator: new Generator(5) });
    const weights = path.join(dir, 'mask.safetensors');
    const dict = model.stateDict();
    await saveSafetensors(weights, dict);
    tf.dispose([...dict.values()]);
    model.dispose();
    const out = path.join(dir, 'mask-onnx');
    const r = await runCli(['export', '--arch', 'maskrcnn', '--weights', weights, '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`maskrcnn: 4 ONNX parts and manifest.json → ${out}\n`);
    expect(fs.readdirSync(out).sort()).toEqual(['backbone.onnx', 'box_head.onnx', 'manifest.json', 'mask_head.onnx', 'rpn_head.onnx']);
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    expect([manifest.arch, manifest.numClasses, manifest.layout]).toEqual(['maskrcnn', 3, 'nchw']);
  }, 120000);

  it.each([
    [['--weights', 'w', '--out', 'o'], 'residual export: missing required flag --arch'],
    [['--arch', 'vgg16', '--weights', 'w', '--out', 'o'], 'residual export: --arch must be one of'],
    [['extra', '--arch', 'resnet18', '--weights', 'w', '--out', 'o'], 'residual export: takes no arguments, got "extra" (the model comes from --weights)'],
    [['--arch', 'resnet18', '--weights', 'w', '--out', 'o', '--layout', 'nwhc'], 'residual export: --layout must be one of nchw, nhwc'],
  ])('rejects %j with a usage error (exit 2)', async (args, message) => {
    const r = await runCli(['export', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr.startsWith(message)).toBe(true);
  });
});

describe('residual detect --engine', () => {
  it('accepts only tfjs or onnxruntime (exit 2)', async () => {
    const r = await runCli(['detect', 'image.png', '--arch', 'fasterrcnn', '--weights', 'w.safetensors', '--engine', 'gpu']);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe('residual detect: --engine must be one of tfjs, onnxruntime, got "gpu"');
  });
});
