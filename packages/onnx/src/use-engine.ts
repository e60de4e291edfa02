import { ValueError } from '@residual/core';
import type { GeneralizedRCNN } from '@residual/faster-rcnn';
import type { OnnxSessionOptions } from './onnx-session.js';
import { OnnxruntimeDetectorEngine } from './onnxruntime-engine.js';

/** Engines a detector can run `predict` on. */
export type EngineName = 'tfjs' | 'onnxruntime';

/** Every {@link EngineName}, for flag validation and help. */
export const ENGINE_NAMES: readonly EngineName[] = ['tfjs', 'onnxruntime'];

/**
 * Chooses the engine of `model.predict`: 'tfjs' (the default; releases an onnxruntime engine set
 * before) or 'onnxruntime' (exports the dense parts from the model's current weights and opens
 * onnxruntime-node sessions; throws OnnxruntimeUnavailableError when the package is absent).
 * The same model object keeps working with either; `forward`/`forwardTrain` always run on tfjs.
 */
export async function useEngine(model: GeneralizedRCNN, engine: EngineName, options: OnnxSessionOptions = {}): Promise<void> {
  if (engine !== 'tfjs' && engine !== 'onnxruntime') {
    throw new ValueError(`useEngine: engine must be 'tfjs' or 'onnxruntime', got '${String(engine)}'`);
  }
  const next = engine === 'onnxruntime' ? await OnnxruntimeDetectorEngine.create(model, options) : null;
  const previous = model.engine;
  model.engine = next;
  if (previous instanceof OnnxruntimeDetectorEngine) await previous.release();
}
