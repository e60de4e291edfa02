import * as tf from '@tensorflow/tfjs-core';
import { Generator } from '@residual/core';
import { resnet50 } from '@residual/resnet';
import { OnnxSession, type OnnxSessionOptions } from './onnx-session.js';
import { toOnnx } from './to-onnx.js';

/** Options of {@link benchResnet50Forward}. */
export interface BenchResnetOptions extends OnnxSessionOptions {
  /** Images per forward (default 1). */
  batch?: number;
  /** 'onnxruntime' (the engine: NHWC tfjs tensor in, logits tensor out, copies included) or 'tfjs' (the current backend). */
  engine?: 'onnxruntime' | 'tfjs';
  /** Untimed runs first (default 1). */
  warmup?: number;
  /** Timed runs (default 5). */
  repeats?: number;
}

/** What {@link benchResnet50Forward} measured: the median and every timed run, in milliseconds. */
export interface BenchResult {
  engine: 'onnxruntime' | 'tfjs';
  batch: number;
  medianMs: number;
  timesMs: number[];
  /** Building the model (and for onnxruntime exporting it and creating the session), ms. */
  setupMs: number;
}

/**
 * Times ResNet-50 224×224 inference (seeded random weights, eval mode, batch `batch`) on one
 * engine, as `npm run bench`'s resnet50-fwd case does for tfjs: `warmup` untimed runs, then the
 * median of `repeats`. Everything it allocates is freed before it returns.
 */
export async function benchResnet50Forward(options: BenchResnetOptions = {}): Promise<BenchResult> {
  const { batch = 1, engine = 'onnxruntime', warmup = 1, repeats = 5, ...sessionOptions } = options;
  let t = performance.now();
  const gen = new Generator(0);
  const model = resnet50({ generator: gen }).eval();
  const x = gen.normalTensor([batch, 224, 224, 3]) as tf.Tensor4D;
  let session: OnnxSession | null = null;
  try {
    let step: () => Promise<void>;
    if (engine === 'onnxruntime') {
      session = await OnnxSession.create(toOnnx(model, { inputShape: [batch, 3, 224, 224], dynamicBatch: true, layout: 'nhwc' }), sessionOptions);
      const s = session;
      step = async () => tf.dispose([...(await s.run({ input: x })).values()]);
    } else {
      step = async () => {
        const logits = model.forward(x);
        await logits.data();
        logits.dispose();
      };
    }
    const setupMs = performance.now() - t;
    for (let i = 0; i < warmup; i++) await step();
    const timesMs: number[] = [];
    for (let i = 0; i < repeats; i++) {
      t = performance.now();
      await step();
      timesMs.push(performance.now() - t);
    }
    const sorted = [...timesMs].sort((a, b) => a - b);
    return { engine, batch, medianMs: sorted[Math.floor(sorted.length / 2)], timesMs, setupMs };
  } finally {
    await session?.release();
    x.dispose();
    model.dispose();
  }
}
