import type * as tf from '@tensorflow/tfjs-core';
import { StateDictError, type StateDict } from '@residual/core';

const KEY = 'roi_heads.box_predictor.cls_score.weight';

/**
 * The number of classes (background included) of a Faster/Mask R-CNN state dict: the rows of
 * `roi_heads.box_predictor.cls_score.weight` ([numClasses, representation], torch layout).
 * Throws StateDictError when the key is missing or not 2-D.
 */
export function inferNumClasses(stateDict: StateDict): number {
  const t: tf.Tensor | undefined = stateDict instanceof Map ? stateDict.get(KEY) : stateDict[KEY];
  if (!t) throw new StateDictError(`inferNumClasses: state dict has no "${KEY}"`);
  if (t.rank !== 2) throw new StateDictError(`inferNumClasses: "${KEY}" expected [numClasses, features], got [${t.shape.join(',')}]`);
  return t.shape[0];
}
