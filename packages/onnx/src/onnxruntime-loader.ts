/** A tensor of onnxruntime (the part of `ort.Tensor` residual uses). */
export interface OrtTensor {
  readonly dims: readonly number[];
  readonly type: string;
  readonly data: unknown;
  dispose?(): void;
}

/** Session options passed through to `InferenceSession.create` (a subset of onnxruntime's). */
export interface OrtSessionOptions {
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  executionMode?: 'sequential' | 'parallel';
  executionProviders?: readonly string[];
}

/** An onnxruntime InferenceSession (the part residual uses). */
export interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}

/**
 * The onnxruntime module surface residual needs, typed here so that nothing in this package
 * depends on onnxruntime's own type declarations (it is an optional peer dependency).
 */
export interface OrtModule {
  InferenceSession: { create(model: Uint8Array, options?: OrtSessionOptions): Promise<OrtSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
}

/** Thrown when the optional onnxruntime-node package cannot be loaded. */
export class OnnxruntimeUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OnnxruntimeUnavailableError';
    Object.setPrototypeOf(this, OnnxruntimeUnavailableError.prototype);
  }
}

// In a variable, so that tsc and bundlers do not resolve the optional package.
const ORT_PACKAGE = 'onnxruntime-node';

/**
 * Loads onnxruntime-node on first use (Node's module cache keeps it). Throws
 * OnnxruntimeUnavailableError naming the package when it is not installed.
 */
export async function loadOnnxruntime(specifier: string = ORT_PACKAGE): Promise<OrtModule> {
  let mod: Partial<OrtModule> & { default?: Partial<OrtModule> };
  try {
    mod = (await import(specifier)) as Partial<OrtModule> & { default?: Partial<OrtModule> };
  } catch (e) {
    throw new OnnxruntimeUnavailableError(
      `the onnxruntime engine needs the optional package ${specifier} (npm install ${specifier}): ${(e as Error).message.split('\n')[0]}`,
    );
  }
  const ort = mod.InferenceSession ? mod : mod.default;
  if (!ort?.InferenceSession || !ort.Tensor) {
    throw new OnnxruntimeUnavailableError(`${specifier} loaded but has no InferenceSession/Tensor exports`);
  }
  return ort as OrtModule;
}
