import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '@residual/test-utils';
import { resnet18, resnet50, type ResNet } from '@residual/resnet';
import { OnnxSession, decodeModel, toOnnx } from '../src/index.js';
// The resnet package's fixture helpers and formula weights, reused read-only.
import { get, resnetFixture } from '../../resnet/test/fixtures.js';
import { loadFormulaWeights } from '../../resnet/test/formula-weights.js';
import { NoDrawGenerator } from '../../resnet/test/test-generators.js';

// ResNet classifiers exported to ONNX and run by onnxruntime-node against the resnet package's
// torchvision fixtures (tools/fixtures/resnet.py, formula weights, eval mode; reused read-only).

function relErr(actual: Float32Array, expected: Float32Array): number {
  let scale = 0;
  let err = 0;
  for (let i = 0; i < expected.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]));
    err = Math.max(err, Math.abs(actual[i] - expected[i]));
  }
  return err / scale;
}

beforeAll(async () => {
  await useBackend();
});

describe.each([
  ['resnet18', () => resnet18({ generator: new NoDrawGenerator() })],
  ['resnet50', () => resnet50({ generator: new NoDrawGenerator() })],
] as const)('%s exported to ONNX and run by onnxruntime', (name, build) => {
  let fx: ReturnType<typeof resnetFixture>;
  let model: ResNet;
  let session: OnnxSession;
  let bytes: Uint8Array;
  beforeAll(async () => {
    fx = resnetFixture(name);
    model = build().eval();
    loadFormulaWeights(model, fx.keys);
    const [n, h, w, c] = get(fx.tensors, 'input').shape;
    bytes = toOnnx(model, { inputShape: [n, c, h, w], dynamicBatch: true, layout: 'nhwc' });
    session = await OnnxSession.create(bytes, { intraOpNumThreads: 1 });
  }, 120000);
  afterAll(async () => {
    await session?.release();
    model?.dispose();
    if (fx) tf.dispose([...fx.tensors.values()]);
  });

  it('folds every BatchNorm into its conv: only Conv, Relu, Add, MaxPool, GlobalAveragePool, Flatten, MatMul remain', () => {
    const ops = new Set(decodeModel(bytes).graph.node.map((n) => n.op_type));
    expect([...ops].sort()).toEqual(['Add', 'Conv', 'Flatten', 'GlobalAveragePool', 'Identity', 'MatMul', 'MaxPool', 'Relu', 'Transpose']);
  });

  it("gives torchvision's logits within 1e-4 of their largest value, as the tfjs path", async () => {
    const x = get<tf.Tensor4D>(fx.tensors, 'input');
    const out = await session.run({ input: x });
    const logits = out.get('logits') as tf.Tensor;
    try {
      const want = get(fx.tensors, 'logits').dataSync() as Float32Array;
      expect(logits.shape).toEqual(get(fx.tensors, 'logits').shape);
      const err = relErr(logits.dataSync() as Float32Array, want);
      expect(err).toBeLessThan(1e-4);
      // The same budget as resnet-parity.test.ts for the tfjs path (parity-spec §12).
      const ours = model.forward(x);
      const tfErr = relErr(ours.dataSync() as Float32Array, want);
      ours.dispose();
      expect(tfErr).toBeLessThan(1e-4);
      process.stdout.write(`${name}: onnxruntime rel err ${err.toExponential(2)}, tfjs ${tfErr.toExponential(2)}\n`);
    } finally {
      logits.dispose();
    }
  }, 60000);
});
