import {
  Linear,
  StateDictError,
  defaultGenerator,
  formatShape,
  truncNormal,
  type Generator,
  type LoadStateDictResult,
} from '@residual/core';
import type { VisionTransformer } from '@residual/vit';
import type { MaskedAutoencoderViT } from './masked-autoencoder.js';
import { unwrapStateDict, type StateDictSource } from './unwrap-state-dict.js';

/** Options of {@link loadMaeEncoder}. */
export interface LoadMaeEncoderOptions {
  /** Std of the trunc-normal re-initialisation of a head the checkpoint does not fill; default 2e-5 (main_finetune.py). */
  headInitStd?: number;
  /** Draws that re-initialisation; default core's defaultGenerator(). */
  generator?: Generator;
}

/** What {@link loadMaeEncoder} did: torch's load_state_dict message plus the keys it dropped first. */
export interface LoadMaeEncoderResult extends LoadStateDictResult {
  /** Decoder keys, `mask_token`, and head keys of another shape, removed before loading. */
  droppedKeys: string[];
}

const FINETUNE_MISSING_OK = new Set(['head.weight', 'head.bias', 'fc_norm.weight', 'fc_norm.bias']);

/**
 * Loads an MAE checkpoint (pre-trained encoder-only like mae_pretrain_vit_base.pth, a full
 * pre-training checkpoint, or a fine-tuned one; possibly nested under `model`, see
 * {@link unwrapStateDict}) into a {@link VisionTransformer} for fine-tuning, as main_finetune.py:
 * drops decoder keys and `mask_token`, drops `head.*` of another shape, loads non-strictly and then
 * re-initialises a missing head weight trunc-normal(std 2e-5). Only `head.*` and `fc_norm.*` may be
 * missing (the official assertion); anything else throws a StateDictError. A ViT built with its own
 * `head` (the linear probe's, {@link linearProbeHead}) keeps that head as built, as main_linprobe.py.
 * `norm.*` comes back as unexpected when `globalPool` is on. The position embedding is not interpolated: for another image
 * size, replace `pos_embed` with `interpolatePosEmbed` (@residual/vit) first. Tensors are copied; the source stays the caller's.
 */
export function loadMaeEncoder(
  vit: VisionTransformer,
  source: StateDictSource,
  { headInitStd = 2e-5, generator = defaultGenerator() }: LoadMaeEncoderOptions = {},
): LoadMaeEncoderResult {
  const dict = new Map(unwrapStateDict(source));
  const droppedKeys: string[] = [];
  const headShapes: Record<string, number[]> = { 'head.weight': [vit.numClasses, vit.embedDim], 'head.bias': [vit.numClasses] };
  // A head given to the ViT (e.g. the linear probe's BatchNorm + Linear) has other keys: a checkpoint's
  // plain head is dropped, and any of its keys may be missing.
  const linearHead = vit.head instanceof Linear;
  for (const [k, t] of dict) {
    const head = headShapes[k];
    const otherHead = head !== undefined && (!linearHead || formatShape(head) !== formatShape(t.shape));
    if (k.startsWith('decoder_') || k === 'mask_token' || otherHead) {
      droppedKeys.push(k);
      dict.delete(k);
    }
  }
  const result = vit.loadStateDict(dict, { strict: false });
  const bad = result.missingKeys.filter((k) => !FINETUNE_MISSING_OK.has(k) && (linearHead || !k.startsWith('head.')));
  if (bad.length) {
    throw new StateDictError(
      `loadMaeEncoder: the checkpoint lacks encoder weights (${bad.length}): ${bad.slice(0, 10).join(', ')}${bad.length > 10 ? ', …' : ''}`,
    );
  }
  if (result.missingKeys.includes('head.weight') && vit.head instanceof Linear) { // a given head keeps its own init
    vit.head.initParameter('weight', (s) => truncNormal(s, { std: headInitStd }, generator));
  }
  return { ...result, droppedKeys };
}

/**
 * Loads an MAE checkpoint (nested or prefixed, see {@link unwrapStateDict}) into a
 * {@link MaskedAutoencoderViT} non-strictly, as `load_state_dict(strict=False)`: an encoder-only
 * release leaves `mask_token` and the decoder at their initial values and lists them in
 * `missingKeys`. Mis-shaped keys still throw. Tensors are copied; the source stays the caller's.
 */
export function loadMaePretrained(mae: MaskedAutoencoderViT, source: StateDictSource): LoadStateDictResult {
  return mae.loadStateDict(unwrapStateDict(source), { strict: false });
}
