import * as tf from '@tensorflow/tfjs-core';
import {
  AdaptiveAvgPool2d,
  AvgPool2d,
  BatchNorm2d,
  Conv2d,
  ConvTranspose2d,
  DropPath,
  Dropout,
  Flatten,
  FrozenBatchNorm2d,
  GELU,
  Identity,
  LayerNorm,
  Linear,
  MaxPool2d,
  ReLU,
  Sequential,
  ValueError,
  type Module,
} from '@residual/core';
import type { OnnxGraph } from './onnx-graph.js';

/** A tensor of a module's state dict, read back to the CPU (torch layout, float32). */
interface HostTensor {
  values: Float32Array;
  shape: number[];
}

/** Reads `m`'s state dict (torch names and layouts) to the CPU; nothing stays allocated. */
export function hostWeights(m: Module): Map<string, HostTensor> {
  const dict = m.stateDict();
  try {
    const out = new Map<string, HostTensor>();
    for (const [k, t] of dict) if (t.dtype === 'float32') out.set(k, { values: t.dataSync() as Float32Array, shape: [...t.shape] });
    return out;
  } finally {
    tf.dispose([...dict.values()]);
  }
}

function need(w: Map<string, HostTensor>, key: string, where: string): HostTensor {
  const t = w.get(key);
  if (!t) throw new ValueError(`${where}: the module has no "${key}" tensor`);
  return t;
}

/** A normalisation layer whose eval-mode output is a per-channel affine map. */
export type AffineNorm = BatchNorm2d | FrozenBatchNorm2d;

/** True for the norm layers export folds (BatchNorm2d with running stats, FrozenBatchNorm2d). */
export function isAffineNorm(m: Module | null | undefined): m is AffineNorm {
  return m instanceof FrozenBatchNorm2d || (m instanceof BatchNorm2d && m.trackRunningStats);
}

/**
 * Eval-mode per-channel scale and shift of a norm layer, in float64: scale = γ/√(var + eps),
 * shift = β − mean·scale (BatchNorm2d without `affine` has γ = 1, β = 0). Training-mode batch
 * statistics cannot be exported: a BatchNorm2d without running stats throws.
 */
export function normScaleShift(bn: AffineNorm): { scale: Float64Array; shift: Float64Array } {
  if (!isAffineNorm(bn)) {
    throw new ValueError('toOnnx: BatchNorm2d without running statistics (trackRunningStats: false) cannot be exported');
  }
  const w = hostWeights(bn);
  const c = bn.numFeatures;
  const mean = need(w, 'running_mean', 'toOnnx').values;
  const variance = need(w, 'running_var', 'toOnnx').values;
  const gamma = w.get('weight')?.values;
  const beta = w.get('bias')?.values;
  const scale = new Float64Array(c);
  const shift = new Float64Array(c);
  for (let i = 0; i < c; i++) {
    scale[i] = (gamma ? gamma[i] : 1) / Math.sqrt(variance[i] + bn.eps);
    shift[i] = (beta ? beta[i] : 0) - mean[i] * scale[i];
  }
  return { scale, shift };
}

const pair4 = (p: readonly [number, number]): number[] => [p[0], p[1], p[0], p[1]];

/**
 * Conv2d (NCHW) as one ONNX Conv; a following eval-mode `norm` is folded into its weight and bias
 * (W' = W·scale per output channel, b' = b·scale + shift), as inference exporters do.
 */
export function emitConv(g: OnnxGraph, conv: Conv2d, x: string, name: string, norm?: AffineNorm | null): string {
  const params = g.memo(conv, norm ? 'folded' : 'plain', () => {
    const w = hostWeights(conv);
    const weight = need(w, 'weight', name);
    const bias = w.get('bias')?.values;
    let wv = weight.values;
    let bv: Float32Array | null = bias ? bias : null;
    if (norm) {
      const { scale, shift } = normScaleShift(norm);
      const perOut = wv.length / conv.outChannels;
      wv = new Float32Array(wv.length);
      for (let o = 0; o < conv.outChannels; o++) {
        for (let j = 0; j < perOut; j++) wv[o * perOut + j] = weight.values[o * perOut + j] * scale[o];
      }
      bv = new Float32Array(conv.outChannels);
      for (let o = 0; o < conv.outChannels; o++) bv[o] = (bias ? bias[o] : 0) * scale[o] + shift[o];
    }
    const names = [g.floats(`${name}.weight`, wv, weight.shape)];
    if (bv) names.push(g.floats(`${name}.bias`, bv, [conv.outChannels]));
    return names;
  });
  return g.node(
    'Conv',
    [x, ...params],
    {
      kernel_shape: { ints: conv.kernelSize },
      pads: { ints: pair4(conv.padding) },
      strides: { ints: conv.stride },
      dilations: { ints: conv.dilation },
      group: { i: conv.groups },
    },
    name,
  );
}

/** ConvTranspose2d (NCHW) as ONNX ConvTranspose (weight [in, out/groups, kH, kW], torch's layout). */
export function emitConvTranspose(g: OnnxGraph, m: ConvTranspose2d, x: string, name: string): string {
  const w = hostWeights(m);
  const weight = need(w, 'weight', name);
  const inputs = [x, g.floats(`${name}.weight`, weight.values, weight.shape)];
  const bias = w.get('bias');
  if (bias) inputs.push(g.floats(`${name}.bias`, bias.values, bias.shape));
  return g.node(
    'ConvTranspose',
    inputs,
    {
      kernel_shape: { ints: m.kernelSize },
      pads: { ints: pair4(m.padding) },
      strides: { ints: m.stride },
      dilations: { ints: m.dilation },
      output_padding: { ints: m.outputPadding },
      group: { i: m.groups },
    },
    name,
  );
}

/** A standalone eval-mode norm on NCHW: x·scale + shift with [1,C,1,1] constants. */
export function emitNorm(g: OnnxGraph, bn: AffineNorm, x: string, name: string): string {
  const { scale, shift } = normScaleShift(bn);
  const dims = [1, bn.numFeatures, 1, 1];
  const scaled = g.node('Mul', [x, g.floats(`${name}.scale`, Float32Array.from(scale), dims)], {}, `${name}.mul`);
  return g.node('Add', [scaled, g.floats(`${name}.shift`, Float32Array.from(shift), dims)], {}, name);
}

/** Linear over the last axis (any rank ≥ 2): MatMul with Wᵀ [in,out], then Add bias. */
export function emitLinear(g: OnnxGraph, m: Linear, x: string, name: string): string {
  const w = hostWeights(m);
  const weight = need(w, 'weight', name); // torch [out, in]
  const [out, inF] = weight.shape;
  const wt = new Float32Array(out * inF);
  for (let o = 0; o < out; o++) for (let i = 0; i < inF; i++) wt[i * out + o] = weight.values[o * inF + i];
  const y = g.node('MatMul', [x, g.floats(`${name}.weight`, wt, [inF, out])], {}, w.has('bias') ? `${name}.matmul` : name);
  const bias = w.get('bias');
  return bias ? g.node('Add', [y, g.floats(`${name}.bias`, bias.values, [out])], {}, name) : y;
}

/** GELU from primitives (opset 17 has no Gelu): exact erf form, or torch's tanh approximation. */
export function emitGelu(g: OnnxGraph, x: string, name: string, approximate: 'none' | 'tanh' = 'none'): string {
  const c = (hint: string, v: number): string => g.floats(`${name}.${hint}`, Float32Array.of(v), []);
  let inner: string;
  if (approximate === 'none') {
    inner = g.node('Erf', [g.node('Mul', [x, c('inv_sqrt2', Math.SQRT1_2)], {}, `${name}.scaled`)], {}, `${name}.erf`);
  } else {
    const cube = g.node('Mul', [g.node('Mul', [x, x], {}, `${name}.sq`), x], {}, `${name}.cube`);
    const poly = g.node('Add', [x, g.node('Mul', [cube, c('k', 0.044715)], {}, `${name}.kcube`)], {}, `${name}.poly`);
    inner = g.node('Tanh', [g.node('Mul', [poly, c('sqrt_2_pi', Math.sqrt(2 / Math.PI))], {}, `${name}.arg`)], {}, `${name}.tanh`);
  }
  const onePlus = g.node('Add', [inner, c('one', 1)], {}, `${name}.one_plus`);
  return g.node('Mul', [g.node('Mul', [x, c('half', 0.5)], {}, `${name}.half`), onePlus], {}, name);
}

/** LayerNorm over the last axis as ONNX LayerNormalization (opset 17). */
export function emitLayerNorm(g: OnnxGraph, m: LayerNorm, x: string, name: string): string {
  const w = hostWeights(m);
  const d = m.normalizedShape;
  const scale = w.get('weight')?.values ?? new Float32Array(d).fill(1);
  const bias = w.get('bias')?.values ?? new Float32Array(d);
  return g.node(
    'LayerNormalization',
    [x, g.floats(`${name}.weight`, scale, [d]), g.floats(`${name}.bias`, bias, [d])],
    { axis: { i: -1 }, epsilon: { f: m.eps } },
    name,
  );
}

function emitMaxPool(g: OnnxGraph, m: MaxPool2d, x: string, name: string): string {
  return g.node(
    'MaxPool',
    [x],
    {
      kernel_shape: { ints: m.kernelSize },
      pads: { ints: pair4(m.padding) },
      strides: { ints: m.stride },
      dilations: { ints: m.dilation },
      ceil_mode: { i: m.ceilMode ? 1 : 0 },
    },
    name,
  );
}

// Linear and LayerNorm act on the last axis; on a feature map that is C in residual's NHWC, so in
// the NCHW graph they run between two transposes.
function onChannels(g: OnnxGraph, x: string, name: string, op: (v: string) => string): string {
  const nhwc = g.node('Transpose', [x], { perm: { ints: [0, 2, 3, 1] } }, `${name}.nhwc`);
  return g.node('Transpose', [op(nhwc)], { perm: { ints: [0, 3, 1, 2] } }, `${name}.nchw`);
}

/**
 * One core layer (eval semantics: Dropout and DropPath are identities, norms use their running
 * statistics). `isMap`: x is a rank-4 NCHW map (Linear and LayerNorm then act on its channels, as
 * on residual's NHWC maps); otherwise x is [..., features]. A Sequential emits its children in
 * order (Flatten ends the map) and folds every Conv2d → norm pair into the conv. Throws
 * ValueError for modules it does not know.
 */
export function emitLayer(g: OnnxGraph, m: Module, x: string, name: string, isMap = false): string {
  if (m instanceof Sequential) {
    const children = [...m];
    let h = x;
    let map = isMap;
    for (let i = 0; i < children.length; i++) {
      const child = children[i];
      const next = children[i + 1];
      if (child instanceof Conv2d && isAffineNorm(next)) {
        h = emitConv(g, child, h, `${name}.${i}`, next);
        i++;
      } else {
        h = emitLayer(g, child, h, `${name}.${i}`, map);
        if (child instanceof Flatten) map = false;
      }
    }
    return h;
  }
  if (isMap && (m instanceof Linear || m instanceof LayerNorm)) return onChannels(g, x, name, (v) => emitLayer(g, m, v, name));
  if (m instanceof Conv2d) return emitConv(g, m, x, name);
  if (m instanceof ConvTranspose2d) return emitConvTranspose(g, m, x, name);
  if (isAffineNorm(m)) return emitNorm(g, m, x, name);
  if (m instanceof Linear) return emitLinear(g, m, x, name);
  if (m instanceof ReLU) return g.node('Relu', [x], {}, name);
  if (m instanceof GELU) return emitGelu(g, x, name, m.approximate);
  if (m instanceof LayerNorm) return emitLayerNorm(g, m, x, name);
  if (m instanceof MaxPool2d) return emitMaxPool(g, m, x, name);
  if (m instanceof Flatten) return g.node('Flatten', [x], { axis: { i: 1 } }, name);
  if (m instanceof Identity || m instanceof Dropout || m instanceof DropPath) return x;
  if (m instanceof AvgPool2d) {
    return g.node(
      'AveragePool',
      [x],
      {
        kernel_shape: { ints: m.kernelSize },
        pads: { ints: pair4(m.padding) },
        strides: { ints: m.stride },
        count_include_pad: { i: m.countIncludePad ? 1 : 0 },
      },
      name,
    );
  }
  if (m instanceof AdaptiveAvgPool2d) {
    if (m.outputSize[0] !== 1 || m.outputSize[1] !== 1) {
      throw new ValueError(`toOnnx: AdaptiveAvgPool2d "${name}" exports only with output size 1x1, got ${m.outputSize.join('x')}`);
    }
    return g.node('GlobalAveragePool', [x], {}, name);
  }
  throw new ValueError(`toOnnx: no ONNX export for ${m.constructor.name} ("${name}")`);
}
