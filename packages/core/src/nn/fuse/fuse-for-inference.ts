import * as tf from '@tensorflow/tfjs-core';
import { checkInput, type Conv2d } from '../conv2d.js';
import type { Module } from '../module.js';
import { ReLU } from '../relu.js';
import { Sequential } from '../sequential.js';
import {
  foldedConvForward,
  foldWeights,
  isFoldableConv,
  isFoldableNorm,
  type FoldableNorm,
  type FoldedWeights,
} from './fold-batch-norm.js';

/** What {@link fuseForInference} did; `unfuse()` puts the original forwards back. */
export interface InferenceFusion {
  /** Conv → norm pairs folded (each later also takes the ReLU after it when the first call saw one). */
  readonly pairs: number;
  /** Restores every patched module's own `forward` (idempotent). */
  unfuse(): void;
}

type Forward = (x: tf.Tensor) => tf.Tensor;

const fusions = new WeakMap<Module, InferenceFusion>();

/**
 * Inference-time folding of BatchNorm2d (eval) / FrozenBatchNorm2d into the Conv2d before it, with
 * the bias and a following ReLU fused into one `tf.fused.conv2d` (wasm: one XNNPACK call instead of
 * conv + 2–4 elementwise passes). Opt-in and reversible; state dicts are untouched: the folded filter
 * W·scale and bias are extra tensors (one more copy of the conv weights), made on the first fused
 * call and made again whenever one of the source variables has been assigned since (loadStateDict,
 * an optimizer step), so weights loaded later are used as they are. `unfuse()` frees them.
 *
 * Pairs are siblings named like torchvision's: `convK` + `bnK` (any suffix K), or `Sequential`
 * children `i` + `i+1` (downsample, Conv2dNormActivation). Only groups-1, dilation-1 convs and norms
 * with running statistics are folded. The forward code of the model is unchanged: the conv's
 * forward returns the folded result, the norm's forward passes exactly that tensor through (a clone;
 * any other input is normalised as usual), and a ReLU module passes through a tensor already
 * activated. Whether a ReLU follows is learnt from the first eval call after fusing, which runs
 * unfused and watches conv → norm → ReLU.forward; the norm's output must then go only to that ReLU
 * (true of torchvision's ResNet blocks and their FPN backbones). In train mode every module runs its
 * own forward. Results match the unfused model to float32 rounding (measured in docs/performance.md).
 *
 * Returns a handle; calling it again on the same module returns the same handle.
 */
export function fuseForInference(module: Module): InferenceFusion {
  const existing = fusions.get(module);
  if (existing) return existing;
  const restore: (() => void)[] = [];
  const folded = new WeakSet<tf.Tensor>(); // outputs of folded convs (norm already applied)
  const activated = new WeakSet<tf.Tensor>(); // … and ReLU already applied
  const tracedConv = new WeakMap<tf.Tensor, Conv2d>(); // first call: conv output → its conv
  const tracedNorm = new WeakMap<tf.Tensor, Conv2d>(); // first call: norm output → its conv
  const plans = new Map<Conv2d, 'linear' | 'relu'>();

  const patch = (m: Module, forward: Forward): void => {
    const target = m as unknown as { forward: Forward };
    const own = Object.prototype.hasOwnProperty.call(target, 'forward');
    const previous = target.forward;
    target.forward = forward;
    restore.push(() => {
      if (own) target.forward = previous;
      else delete (target as Partial<typeof target>).forward;
    });
  };
  const passThrough = (x: tf.Tensor): tf.Tensor => {
    const y = tf.clone(x);
    folded.add(y);
    if (activated.has(x)) activated.add(y);
    return y;
  };

  let pairs = 0;
  const foldedWeights = new Set<FoldedWeights>(); // kept tensors, freed by unfuse()
  for (const [conv, norm] of findPairs(module)) {
    pairs++;
    // Folded once and kept (tfjs wasm caches its XNNPACK operator per filter tensor; a new filter
    // every call would repack the weights every call), refolded when any source variable has been
    // assigned since (loadStateDict, an optimizer step): a Variable gets a new dataId on assign.
    let cache: { sources: object[]; weights: FoldedWeights } | null = null;
    const weightsNow = (): FoldedWeights => {
      const sources = [conv.weight, conv.bias, norm.weight, norm.bias, norm.runningMean, norm.runningVar, norm.eps].map(
        (v) => (v instanceof tf.Tensor ? v.dataId : v),
      ) as object[];
      if (cache === null || cache.sources.some((s, i) => s !== sources[i])) {
        if (cache !== null) {
          tf.dispose([cache.weights.filter, cache.weights.bias]);
          foldedWeights.delete(cache.weights);
        }
        const weights = foldWeights(conv, norm);
        tf.keep(weights.filter); // outlives the caller's tf.tidy
        tf.keep(weights.bias);
        cache = { sources, weights };
        foldedWeights.add(weights);
      }
      return cache.weights;
    };
    const convForward = conv.forward.bind(conv) as Forward;
    const normForward = norm.forward.bind(norm) as Forward;
    patch(conv, (x) => {
      const plan = plans.get(conv);
      if (conv.training || norm.training) return convForward(x);
      if (plan === undefined) {
        const y = convForward(x);
        tracedConv.set(y, conv);
        return y;
      }
      checkInput(x, conv.inChannels, 'Conv2d.forward');
      const y = foldedConvForward(conv, weightsNow(), x as tf.Tensor4D, plan);
      folded.add(y);
      if (plan === 'relu') activated.add(y);
      return y;
    });
    patch(norm, (x) => {
      if (norm.training) return normForward(x);
      if (folded.has(x)) return passThrough(x);
      const y = normForward(x);
      if (tracedConv.get(x) === conv) {
        plans.set(conv, 'linear');
        tracedNorm.set(y, conv);
      }
      return y;
    });
  }
  for (const relu of new Set(module.namedModules().values())) {
    if (!(relu instanceof ReLU) || pairs === 0) continue;
    const reluForward = relu.forward.bind(relu) as Forward;
    patch(relu, (x) => {
      if (activated.has(x)) return passThrough(x);
      const conv = tracedNorm.get(x);
      if (conv !== undefined) plans.set(conv, 'relu');
      return reluForward(x);
    });
  }

  const fusion: InferenceFusion = {
    pairs,
    unfuse: () => {
      while (restore.length > 0) (restore.pop() as () => void)();
      for (const w of foldedWeights) tf.dispose([w.filter, w.bias]);
      foldedWeights.clear();
      fusions.delete(module);
    },
  };
  fusions.set(module, fusion);
  return fusion;
}

/** Conv2d → norm sibling pairs: `convK`/`bnK`, or Sequential children `i`/`i+1`. */
function findPairs(module: Module): [Conv2d, FoldableNorm][] {
  const pairs: [Conv2d, FoldableNorm][] = [];
  const seen = new Set<Module>();
  for (const parent of new Set(module.namedModules().values())) {
    const children = parent.children();
    for (const [name, child] of children) {
      if (!isFoldableConv(child)) continue;
      const match = /^conv(.*)$/.exec(name);
      const normName = match ? `bn${match[1]}` : parent instanceof Sequential && /^\d+$/.test(name) ? String(Number(name) + 1) : null;
      const norm = normName === null ? undefined : children.get(normName);
      if (isFoldableNorm(norm, child.outChannels) && !seen.has(child) && !seen.has(norm)) {
        seen.add(child).add(norm);
        pairs.push([child, norm]);
      }
    }
  }
  return pairs;
}
