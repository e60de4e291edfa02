import * as tf from '@tensorflow/tfjs-core';
import { StateDictError } from '@residual/core';

/**
 * A state dict as a checkpoint reader may give it: flat (`Map` or record of tensors), nested
 * (`{ model: { cls_token, ... }, optimizer: ..., epoch: ... }`) or with dotted wrapper prefixes
 * (`model.cls_token`, `module.cls_token` from DDP). Non-tensor leaves are ignored.
 */
export type StateDictSource = Map<string, tf.Tensor> | { [key: string]: unknown };

function flatten(source: StateDictSource): Map<string, tf.Tensor> {
  if (source instanceof Map) return source;
  const out = new Map<string, tf.Tensor>();
  const visit = (node: { [key: string]: unknown }, prefix: string): void => {
    for (const [k, v] of Object.entries(node)) {
      if (v instanceof tf.Tensor) {
        out.set(prefix + k, v);
      } else if (v instanceof Map) {
        visit(Object.fromEntries(v), `${prefix}${k}.`);
      } else if (v !== null && typeof v === 'object' && !ArrayBuffer.isView(v)) {
        visit(v as { [key: string]: unknown }, `${prefix}${k}.`);
      }
    }
  };
  visit(source, '');
  return out;
}

/**
 * The model's own state dict inside a checkpoint: finds the prefix under which `anchor` (a key
 * every such model has; default `cls_token`) sits — `''`, `model.`, `state_dict.`, `module.`,
 * `model.module.`, … — and returns the entries under it with the prefix removed. Tensors are
 * borrowed (not copied). Throws a StateDictError listing the first keys when no key ends with `anchor`.
 */
export function unwrapStateDict(source: StateDictSource, anchor = 'cls_token'): Map<string, tf.Tensor> {
  const flat = flatten(source);
  if (flat.has(anchor)) return flat;
  const candidates = [...flat.keys()].filter((k) => k.endsWith(`.${anchor}`)).map((k) => k.slice(0, k.length - anchor.length));
  if (candidates.length === 0) {
    const keys = [...flat.keys()];
    throw new StateDictError(
      `unwrapStateDict: no key "${anchor}" at any prefix; got ${keys.length} keys: ${keys.slice(0, 10).join(', ')}${keys.length > 10 ? ', …' : ''}`,
    );
  }
  const prefix = candidates.sort((a, b) => a.length - b.length)[0]; // the outermost model, e.g. "model."
  return new Map([...flat].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
}
