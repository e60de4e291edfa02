/**
 * @jest-environment ../onnx/test/ort-environment.js
 */
// onnx's test environment (onnxruntime's outputs come from Node's main realm; see there), so that
// OnnxSession and `detect --engine onnxruntime` run in this process.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { Generator } from '@residual/core';
import { saveSafetensors } from '@residual/core/node';
import { CATEGORIES_METADATA_KEY, MASKRCNN_CONFIG_METADATA_KEY, maskrcnnFromConfig, type MaskRCNNConfig } from '@residual/mask-rcnn';
import { OnnxSession, decodeModel } from '@residual/onnx';
import { resnet18 } from '@residual/resnet';
import { expectNoLeak, maxAbsDiff, useBackend } from '@residual/test-utils';
import { DETECTORS } from '../src/arch-table.js';
import { runCli, tempDir } from './run-cli.js';

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
    const session = await OnnxSession.create(fs.readFileSync(out), { intraOpNumThreads: 1 });
    const got = await session.run({ input: nchw });
    await session.release();
    const want = model.forward(x);
    expect([...got.keys()]).toEqual(['logits']);
    const scale = Math.max(...Array.from(want.dataSync(), Math.abs));
    expect(maxAbsDiff(got.get('logits') as tf.Tensor, want) / scale).toBeLessThan(1e-5);
    tf.dispose([...got.values()]);
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
    [['--arch', 'vgg16', '--weights', 'w', '--out', 'o'], 'residual export: --arch must be one of'],
    [['extra', '--arch', 'resnet18', '--weights', 'w', '--out', 'o'], 'residual export: takes no arguments, got "extra" (the model comes from --weights)'],
    [['--arch', 'resnet18', '--weights', 'w', '--out', 'o', '--layout', 'nwhc'], 'residual export: --layout must be one of nchw, nhwc'],
  ])('rejects %j with a usage error (exit 2)', async (args, message) => {
    const r = await runCli(['export', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr.startsWith(message)).toBe(true);
  });
});

// A model of `residual demo`'s kind, tiny: its architecture (MaskRCNNConfig) and categories in the
// weights' metadata; 16-channel FPN on layers 2–3, one anchor ratio, 48–64 px images. torchvision's
// Mask R-CNN does not fit its keys, so only the model the metadata describes loads them.
const TINY: MaskRCNNConfig = {
  backbone: 'resnet18',
  returnedLayers: [2, 3],
  fpnChannels: 16,
  anchorSizes: [16, 32, 64],
  aspectRatios: [1],
  representationSize: 32,
  maskHeadLayers: [8],
  rpnBatchSizePerImage: 16,
  boxBatchSizePerImage: 16,
  rpnPreNmsTopNTrain: 60,
  rpnPostNmsTopNTrain: 30,
  rpnPreNmsTopNTest: 60,
  rpnPostNmsTopNTest: 30,
  minSize: 48,
  maxSize: 64,
};

/** A COCO results row of `residual detect`. */
interface ResultRow {
  image_id: number;
  category_id: number;
  bbox: number[];
  score: number;
  segmentation: { size: number[]; counts: string };
}

describe('residual export of weights that describe their model (residual demo\'s)', () => {
  const dir = tempDir();
  const weights = path.join(dir, 'model.safetensors');
  const image = path.join(dir, 'shapes.png');
  let model: ReturnType<typeof maskrcnnFromConfig>;

  beforeAll(async () => {
    model = maskrcnnFromConfig(TINY, { numClasses: 3, generator: new Generator(11) }).eval();
    const dict = model.stateDict();
    // Stored BatchNorm statistics away from 0 and 1, so the export has to fold the file's own.
    const gen = new Generator(12);
    for (const [key, t] of dict) {
      if (!/running_(mean|var)$/.test(key)) continue;
      const values = Float32Array.from({ length: t.size }, () => (key.endsWith('var') ? 0.5 + gen.random() : 0.2 * (gen.random() - 0.5)));
      t.dispose();
      dict.set(key, tf.tensor(values, t.shape));
    }
    model.loadStateDict(dict);
    const metadata = { format: 'pt', [MASKRCNN_CONFIG_METADATA_KEY]: JSON.stringify(TINY), [CATEGORIES_METADATA_KEY]: JSON.stringify([{ id: 4, name: 'square' }, { id: 9, name: 'disc' }]) };
    await saveSafetensors(weights, dict, { metadata });
    tf.dispose([...dict.values()]);
    const [w, h] = [60, 44];
    const gen2 = new Generator(13);
    const pixels = Buffer.from(Array.from({ length: w * h * 3 }, (_, i) => (Math.floor(i / 3) % w > 20 && Math.floor(i / 3 / w) > 10 ? 220 : Math.floor(gen2.random() * 90))));
    await sharp(pixels, { raw: { width: w, height: h, channels: 3 } }).png().toFile(image);
  });
  afterAll(() => model.dispose());

  it('exports the model the metadata describes, without --arch, leaking nothing', async () => {
    const out = path.join(dir, 'onnx');
    const r = await expectNoLeak(() => runCli(['export', '--weights', weights, '--out', out, '--json']));
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const parts = ['backbone.onnx', 'rpn_head.onnx', 'box_head.onnx', 'mask_head.onnx', 'manifest.json'];
    expect(JSON.parse(r.stdout)).toEqual({ arch: 'maskrcnn', out, files: parts.map((f) => path.join(out, f)), layout: 'nchw' });
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({
      arch: 'maskrcnn',
      numClasses: 3,
      parts: { backbone: { outputs: ['0', '1', 'pool'] } },
      transform: { minSize: [48], maxSize: 64 },
      anchors: { sizes: [[16], [32], [64]], aspectRatios: [[1], [1], [1]] },
      rpn: { preNmsTopN: 60, postNmsTopN: 30 },
      boxRoiPool: { featmapNames: ['0', '1'], outputSize: [7, 7] },
      maskRoiPool: { featmapNames: ['0', '1'], outputSize: [14, 14] },
    });
  }, 120000);

  it("writes graphs that compute the file's model: the backbone's maps and the box head's outputs (onnxruntime)", async () => {
    const out = path.join(dir, 'onnx-parts');
    expect((await runCli(['export', '--weights', weights, '--out', out])).stdout).toBe(`maskrcnn: 4 ONNX parts and manifest.json → ${out}\n`);
    const owned: tf.Tensor[] = [];
    const keep = <T extends tf.Tensor>(t: T): T => (owned.push(t), t);
    const worst: number[] = []; // max |Δ| / max |tfjs value| per output
    const compare = (got: tf.Tensor, want: tf.Tensor): void => {
      worst.push(maxAbsDiff(got, want) / Math.max(...Array.from(want.dataSync(), Math.abs)));
    };
    try {
      const backbone = await OnnxSession.create(fs.readFileSync(path.join(out, 'backbone.onnx')), { intraOpNumThreads: 1 });
      const x = keep(tf.randomNormal([1, 64, 48, 3], 0, 1, 'float32', 14) as tf.Tensor4D);
      const maps = await backbone.run({ input: keep(tf.transpose(x, [0, 3, 1, 2])) });
      await backbone.release();
      owned.push(...maps.values());
      const want = model.backbone.forward(x);
      owned.push(...want.values());
      expect([...maps.keys()]).toEqual([...want.keys()]);
      for (const [level, map] of want) compare(keep(tf.transpose(maps.get(level) as tf.Tensor, [0, 2, 3, 1])), map);
      const boxHead = await OnnxSession.create(fs.readFileSync(path.join(out, 'box_head.onnx')), { intraOpNumThreads: 1 });
      const pooled = keep(tf.randomNormal([3, 7, 7, 16], 0, 1, 'float32', 15) as tf.Tensor4D);
      const heads = await boxHead.run({ input: keep(tf.transpose(pooled, [0, 3, 1, 2])) });
      await boxHead.release();
      owned.push(...heads.values());
      const predicted = model.roiHeads.boxPredictor.forward(keep(model.roiHeads.boxHead.forward(pooled)));
      owned.push(predicted.classLogits, predicted.boxRegression);
      compare(heads.get('class_logits') as tf.Tensor, predicted.classLogits);
      compare(heads.get('box_regression') as tf.Tensor, predicted.boxRegression);
    } finally {
      tf.dispose(owned);
    }
    expect(worst).toHaveLength(5);
    expect(Math.max(...worst)).toBeLessThan(1e-5);
  }, 120000);

  it("runs on detect --engine onnxruntime with the tfjs engine's detections (onnx parity tolerances)", async () => {
    const detect = async (engine: string): Promise<ResultRow[]> => {
      const out = path.join(dir, `${engine}.json`);
      const r = await runCli(['detect', image, '--weights', weights, '--engine', engine, '--out', out, '--quiet']);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      return JSON.parse(fs.readFileSync(out, 'utf8')) as ResultRow[];
    };
    const tfjs = await detect('tfjs');
    const ort = await detect('onnxruntime');
    expect(tfjs.length).toBeGreaterThan(0);
    expect(ort).toHaveLength(tfjs.length);
    // Pairs each tfjs row with an onnxruntime row: category exact, score within 1e-4, box within 1e-3 px + 1e-5·|x| per corner.
    const used = new Set<number>();
    for (const want of tfjs) {
      const close = (got: ResultRow, j: number): boolean =>
        !used.has(j) && got.category_id === want.category_id && Math.abs(got.score - want.score) <= 1e-4
        && got.bbox.every((v, c) => Math.abs(v - want.bbox[c]) <= 2e-3 + 1e-5 * Math.abs(want.bbox[c]));
      const j = ort.findIndex(close);
      if (j < 0) throw new Error(`tfjs detection ${JSON.stringify({ ...want, segmentation: undefined })} has no onnxruntime match`);
      used.add(j);
      // Mask probabilities agree within 1e-4; none of this image's pixels is that close to 0.5.
      expect(ort[j].segmentation).toEqual(want.segmentation);
    }
  }, 120000);

  it('refuses an --arch or --backbone the file contradicts, naming both, as detect does', async () => {
    const out = path.join(dir, 'refused');
    const fasterrcnn = await runCli(['export', '--weights', weights, '--arch', 'fasterrcnn', '--out', out]);
    expect({ code: fasterrcnn.code, stderr: fasterrcnn.stderr }).toEqual({
      code: 1,
      stderr: `residual export: --weights ${weights} holds a maskrcnn on resnet18 (its metadata "residual.demo"), not a fasterrcnn\n`,
    });
    const resnet50 = await runCli(['export', '--weights', weights, '--arch', 'maskrcnn', '--backbone', 'resnet50', '--out', out]);
    expect(resnet50.stderr).toBe(`residual export: --weights ${weights} holds a maskrcnn on resnet18 (its metadata "residual.demo"), not a maskrcnn on resnet50\n`);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('asks for --arch when the file does not say its architecture', async () => {
    const plain = path.join(dir, 'plain.safetensors');
    const dict = model.stateDict();
    await saveSafetensors(plain, dict);
    tf.dispose([...dict.values()]);
    const r = await runCli(['export', '--weights', plain, '--out', path.join(dir, 'plain')]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({
      code: 2,
      stderr: `residual export: missing required flag --arch (--weights ${plain} does not say its architecture)\nRun 'residual export --help' for usage.\n`,
    });
  });
});

describe('residual detect --engine', () => {
  it('accepts only tfjs or onnxruntime (exit 2)', async () => {
    const r = await runCli(['detect', 'image.png', '--arch', 'fasterrcnn', '--weights', 'w.safetensors', '--engine', 'gpu']);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe('residual detect: --engine must be one of tfjs, onnxruntime, got "gpu"');
  });
});
