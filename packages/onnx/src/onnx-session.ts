import * as tf from '@tensorflow/tfjs-core';
import { ValueError } from '@residual/core';
import { loadOnnxruntime, type OrtModule, type OrtSession, type OrtSessionOptions, type OrtTensor } from './onnxruntime-loader.js';

/** A float32 row-major array and its shape (NHWC for images and feature maps), as onnxruntime takes and gives them. */
export interface HostTensor {
  data: Float32Array;
  shape: number[];
}

/** Options of {@link OnnxSession.create}. */
export interface OnnxSessionOptions extends OrtSessionOptions {
  /** Package to load instead of 'onnxruntime-node' (tests use it to simulate an absent package). */
  packageName?: string;
}

/**
 * One ONNX model loaded into onnxruntime, run with tfjs tensors: `run` reads the inputs back from
 * tfjs (they are not disposed) and returns new float32 tfjs tensors the caller owns. Call
 * `release()` when done (frees onnxruntime's memory; tfjs tensors are unaffected).
 */
export class OnnxSession {
  private constructor(
    private readonly ort: OrtModule,
    private readonly session: OrtSession,
  ) {}

  /** Loads onnxruntime-node lazily and creates a session for `model` (ONNX bytes). */
  static async create(model: Uint8Array, options: OnnxSessionOptions = {}): Promise<OnnxSession> {
    const { packageName, ...sessionOptions } = options;
    const ort = await loadOnnxruntime(packageName);
    const session = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'all', ...sessionOptions });
    return new OnnxSession(ort, session);
  }

  /** Input names in graph order. */
  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  /** Output names in graph order. */
  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** Runs the graph on float32 tfjs tensors by input name; outputs by name, new tensors the caller owns. */
  async run(inputs: Record<string, tf.Tensor>): Promise<Map<string, tf.Tensor>> {
    const host: Record<string, HostTensor> = {};
    for (const name of this.session.inputNames) {
      const t = inputs[name];
      if (!t) throw new ValueError(`OnnxSession.run: missing input "${name}" (inputs: ${this.session.inputNames.join(', ')})`);
      host[name] = { data: (await t.data()) as Float32Array, shape: t.shape };
    }
    const out = new Map<string, tf.Tensor>();
    for (const [name, r] of await this.runHost(host)) out.set(name, tf.tensor(r.data, r.shape, 'float32'));
    return out;
  }

  /**
   * Runs the graph on host float32 arrays (no tfjs copies: the engine's TypeScript stages read and
   * write these directly). Outputs by name; their arrays are onnxruntime's, owned by the caller.
   */
  async runHost(inputs: Record<string, HostTensor>): Promise<Map<string, HostTensor>> {
    const feeds: Record<string, OrtTensor> = {};
    for (const name of this.session.inputNames) {
      const t = inputs[name];
      if (!t) throw new ValueError(`OnnxSession.run: missing input "${name}" (inputs: ${this.session.inputNames.join(', ')})`);
      feeds[name] = new this.ort.Tensor('float32', t.data, t.shape);
    }
    const results = await this.session.run(feeds);
    const out = new Map<string, HostTensor>();
    for (const name of this.session.outputNames) {
      const r = results[name];
      out.set(name, { data: r.data as Float32Array, shape: [...r.dims] });
    }
    return out;
  }

  /** Frees the onnxruntime session. */
  async release(): Promise<void> {
    await this.session.release();
  }
}
