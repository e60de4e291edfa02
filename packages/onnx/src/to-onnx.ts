import { Module, ValueError } from '@residual/core';
import { FastRCNNPredictor, TwoMLPHead } from '@residual/faster-rcnn';
import { BackboneWithFPN } from '@residual/fpn';
import { MaskRCNNHeads, MaskRCNNPredictor } from '@residual/mask-rcnn';
import { BasicBlock, Bottleneck, ResNet } from '@residual/resnet';
import { RPNHead } from '@residual/rpn';
import { VisionTransformer } from '@residual/vit';
import { emitBackboneWithFpn } from './fpn-emitter.js';
import { emitFastRcnnPredictor, emitMaskRcnnPredictor, emitRpnHead, emitTwoMlpHead } from './head-emitters.js';
import { emitLayer } from './layer-emitters.js';
import { OnnxGraph, type Dim } from './onnx-graph.js';
import { emitResNet, emitResidualBlock } from './resnet-emitter.js';
import { emitVisionTransformer } from './vit-emitter.js';

/** Memory layout of a graph's rank-4 inputs and outputs. */
export type OnnxLayout = 'nchw' | 'nhwc';

/** Options of {@link toOnnx}. */
export interface ToOnnxOptions {
  /**
   * Input shape in torch's order: [N,C,H,W] for images and feature maps, [R,F] for flat features.
   * An RPNHead takes one such input per level (H and W are always symbolic there).
   */
  inputShape: readonly number[];
  /** Dimension 0 becomes the symbolic 'batch' (default false: fixed to inputShape[0]). */
  dynamicBatch?: boolean;
  /** H and W of a rank-4 input become symbolic 'height'/'width' (default false). */
  dynamicSpatial?: boolean;
  /**
   * 'nchw' (default): inputs and rank-4 outputs in torch's layout, as torchvision's exports (and
   * ORT's fastest kernels). 'nhwc': the graph takes and returns residual's NHWC tensors and
   * transposes once inside (what the onnxruntime engine uses).
   */
  layout?: OnnxLayout;
  /** RPNHead only: the pyramid level names (default '0','1','2','3','pool'); inputs are named after them. */
  levels?: readonly string[];
  /** Graph name (default the module's class name). */
  name?: string;
}

/** What {@link buildOnnxGraph} returns: the graph and its input and output names, in order. */
export interface OnnxExport {
  graph: OnnxGraph;
  inputNames: string[];
  outputNames: string[];
}

interface Emitted {
  values: string[];
  names: string[];
}

/** Modules (or chains of modules, run one after the other) that {@link toOnnx} can export. */
export type Exportable = Module | readonly Module[];

// One module: its known model types first, then any core layer (Sequential and friends).
function emitModule(g: OnnxGraph, m: Module, inputs: string[], levels: readonly string[], isMap: boolean): Emitted {
  const one = (value: string, name: string): Emitted => ({ values: [value], names: [name] });
  if (m instanceof ResNet) return one(emitResNet(g, m, inputs[0]), 'logits');
  if (m instanceof VisionTransformer) return one(emitVisionTransformer(g, m, inputs[0]), m.numClasses > 0 ? 'logits' : 'features');
  if (m instanceof BackboneWithFPN) return emitBackboneWithFpn(g, m, inputs[0]);
  if (m instanceof RPNHead) {
    const { logits, bboxReg } = emitRpnHead(g, m, inputs);
    return { values: [...logits, ...bboxReg], names: [...levels.map((l) => `logits.${l}`), ...levels.map((l) => `bbox_reg.${l}`)] };
  }
  if (m instanceof TwoMLPHead) return one(emitTwoMlpHead(g, m, inputs[0]), 'box_features');
  if (m instanceof FastRCNNPredictor) {
    const { classLogits, boxRegression } = emitFastRcnnPredictor(g, m, inputs[0]);
    return { values: [classLogits, boxRegression], names: ['class_logits', 'box_regression'] };
  }
  if (m instanceof MaskRCNNPredictor) return one(emitMaskRcnnPredictor(g, m, inputs[0]), 'mask_logits');
  if (inputs.length !== 1) throw new ValueError(`toOnnx: ${m.constructor.name} takes one input, the chain gives ${inputs.length}`);
  if (m instanceof MaskRCNNHeads) return one(emitLayer(g, m, inputs[0], 'mask_head'), 'mask_features');
  if (m instanceof Bottleneck || m instanceof BasicBlock) return one(emitResidualBlock(g, m, inputs[0], 'block'), 'output');
  return one(emitLayer(g, m, inputs[0], 'layer', isMap), 'output');
}

function checkShape(shape: readonly number[]): void {
  if ((shape.length !== 4 && shape.length !== 2) || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new ValueError(`toOnnx: inputShape must be [N,C,H,W] or [R,F] of positive integers, got [${shape.join(',')}]`);
  }
}

/**
 * Builds the ONNX graph of `module` (or of a chain of modules, each fed the previous one's outputs)
 * in eval semantics: norms folded with their running statistics, dropout and drop path removed.
 * Weights are copied from the module now; later changes to it do not reach the graph.
 */
export function buildOnnxGraph(module: Exportable, options: ToOnnxOptions): OnnxExport {
  const chain: readonly Module[] = module instanceof Module ? [module] : module;
  if (chain.length === 0) throw new ValueError('toOnnx: the module chain is empty');
  checkShape(options.inputShape);
  const layout = options.layout ?? 'nchw';
  if (layout !== 'nchw' && layout !== 'nhwc') throw new ValueError(`toOnnx: layout must be 'nchw' or 'nhwc', got '${String(layout)}'`);
  const g = new OnnxGraph(options.name ?? chain.map((m) => m.constructor.name).join('+'));
  const batch: Dim = options.dynamicBatch ? 'batch' : options.inputShape[0];
  const rank4 = options.inputShape.length === 4;
  const isRpn = chain[0] instanceof RPNHead;
  const levels = options.levels ?? ['0', '1', '2', '3', 'pool'];
  const inputNames = isRpn ? [...levels] : ['input'];
  const inputs = inputNames.map((name) => {
    if (!rank4) return g.input(name, [batch, options.inputShape[1]]);
    const [, c, h, w] = options.inputShape;
    const spatial: [Dim, Dim] = isRpn ? [`${name}_height`, `${name}_width`] : options.dynamicSpatial ? ['height', 'width'] : [h, w];
    if (layout === 'nchw') return g.input(name, [batch, c, ...spatial]);
    return g.node('Transpose', [g.input(name, [batch, ...spatial, c])], { perm: { ints: [0, 3, 1, 2] } }, `${name}.nchw`);
  });
  let current: Emitted = { values: inputs, names: inputNames };
  for (const m of chain) current = emitModule(g, m, current.values, levels, rank4);
  const flat = ['logits', 'features', 'box_features', 'class_logits', 'box_regression'];
  current.values.forEach((v, i) => {
    const name = current.names[i];
    if (name === 'output') return g.output(v, name, null); // any rank: declared without a shape
    if (flat.includes(name)) return g.output(v, name, [batch, `${name}_dim1`]);
    const dims: Dim[] = [batch, `${name}_c`, `${name}_h`, `${name}_w`];
    if (layout === 'nchw') return g.output(v, name, dims);
    g.output(g.node('Transpose', [v], { perm: { ints: [0, 2, 3, 1] } }, `${name}.nhwc`), name, [batch, dims[2], dims[3], dims[1]]);
  });
  const finalOutputs = current.names;
  return { graph: g, inputNames, outputNames: finalOutputs };
}

/**
 * The ONNX model (opset 17 protobuf bytes) of a module built from core's layers: ResNet
 * (logits), BackboneWithFPN (pyramid maps), RPNHead (per-level logits and deltas), TwoMLPHead,
 * FastRCNNPredictor, MaskRCNNHeads, MaskRCNNPredictor, VisionTransformer, or any Sequential of
 * Conv2d/BatchNorm/Linear/pooling/activation layers; pass an array to chain parts into one graph
 * (e.g. `[boxHead, boxPredictor]`). Graphs compute in NCHW; see {@link ToOnnxOptions.layout}.
 * Throws ValueError for a module it cannot export.
 */
export function toOnnx(module: Exportable, options: ToOnnxOptions): Uint8Array {
  const { graph } = buildOnnxGraph(module, options);
  return graph.encode({ layout: options.layout ?? 'nchw' });
}
