import { ValueError } from '@residual/core';
import { RoIHeads, type GeneralizedRCNN } from '@residual/faster-rcnn';
import { BackboneWithFPN } from '@residual/fpn';
import { MaskRoIHeads } from '@residual/mask-rcnn';
import { RegionProposalNetwork } from '@residual/rpn';
import { ONNX_OPSET } from './onnx-graph.js';
import { buildOnnxGraph, type OnnxLayout } from './to-onnx.js';

/** One graph of an exported detector: its file name and its input and output names, in order. */
export interface DetectorPartManifest {
  file: string;
  inputs: string[];
  outputs: string[];
}

/**
 * `manifest.json` of an exported detector: the dense parts as ONNX files, and the settings of
 * the parts that stay outside ONNX (transform, anchors, proposal selection, RoI pooling,
 * postprocessing), so another runtime can rebuild the whole pipeline.
 */
export interface DetectorManifest {
  format: 'residual-onnx-detector';
  version: 1;
  arch: 'fasterrcnn' | 'maskrcnn';
  opset: number;
  layout: OnnxLayout;
  numClasses: number;
  parts: {
    backbone: DetectorPartManifest;
    rpn_head: DetectorPartManifest;
    box_head: DetectorPartManifest;
    mask_head?: DetectorPartManifest;
  };
  transform: { minSize: number[]; maxSize: number; imageMean: number[]; imageStd: number[]; sizeDivisible: number };
  anchors: { sizes: number[][]; aspectRatios: number[][] };
  rpn: { preNmsTopN: number; postNmsTopN: number; nmsThresh: number; scoreThresh: number; minSize: number };
  boxRoiPool: { featmapNames: string[]; outputSize: number[]; samplingRatio: number };
  roiHeads: { bboxRegWeights: number[]; scoreThresh: number; nmsThresh: number; detectionsPerImg: number };
  maskRoiPool?: { featmapNames: string[]; outputSize: number[]; samplingRatio: number };
}

/** An exported detector: ONNX bytes per file name, and the manifest that lists them. */
export interface DetectorExport {
  files: Map<string, Uint8Array>;
  manifest: DetectorManifest;
}

/** Options of {@link exportDetector}. */
export interface ExportDetectorOptions {
  /** Default 'nchw' (torchvision's layout); 'nhwc' takes and returns residual's layout. */
  layout?: OnnxLayout;
}

/**
 * Exports a Faster/Mask R-CNN's dense parts as separate ONNX graphs (dynamic batch and sizes):
 * `backbone.onnx` (images → FPN maps), `rpn_head.onnx` (maps → per-level logits and deltas),
 * `box_head.onnx` (TwoMLPHead + FastRCNNPredictor on pooled RoIs), and for Mask R-CNN
 * `mask_head.onnx` (MaskRCNNHeads + MaskRCNNPredictor), plus the manifest. Weights are copied now.
 */
export function exportDetector(model: GeneralizedRCNN, options: ExportDetectorOptions = {}): DetectorExport {
  const where = 'exportDetector';
  const { backbone, rpn, roiHeads, transform } = model;
  if (!(backbone instanceof BackboneWithFPN)) throw new ValueError(`${where}: the backbone must be a BackboneWithFPN, got ${backbone.constructor.name}`);
  if (!(rpn instanceof RegionProposalNetwork)) throw new ValueError(`${where}: the rpn must be a RegionProposalNetwork, got ${rpn.constructor.name}`);
  if (!(roiHeads instanceof RoIHeads)) throw new ValueError(`${where}: roiHeads must be RoIHeads, got ${roiHeads.constructor.name}`);
  const layout = options.layout ?? 'nchw';
  const c = backbone.outChannels;
  const common = { dynamicBatch: true, layout } as const;
  const levels = Object.keys(backbone.outputShape());
  const mask = roiHeads instanceof MaskRoIHeads ? roiHeads : null;
  const graphs = {
    backbone: buildOnnxGraph(backbone, { ...common, inputShape: [1, 3, 64, 64], dynamicSpatial: true, name: 'backbone' }),
    rpn_head: buildOnnxGraph(rpn.head, { ...common, inputShape: [1, c, 1, 1], levels, name: 'rpn_head' }),
    box_head: buildOnnxGraph([roiHeads.boxHead, roiHeads.boxPredictor], { ...common, inputShape: [1, c, ...roiHeads.boxRoiPool.outputSize], name: 'box_head' }),
    ...(mask
      ? { mask_head: buildOnnxGraph([mask.maskHead, mask.maskPredictor], { ...common, inputShape: [1, c, ...mask.maskRoiPool.outputSize], name: 'mask_head' }) }
      : {}),
  };
  const files = new Map<string, Uint8Array>();
  const parts: Record<string, DetectorPartManifest> = {};
  for (const [part, g] of Object.entries(graphs)) {
    const file = `${part}.onnx`;
    files.set(file, g.graph.encode({ layout, part }));
    parts[part] = { file, inputs: g.inputNames, outputs: g.outputNames };
  }
  const pool = (p: RoIHeads['boxRoiPool']): DetectorManifest['boxRoiPool'] => ({
    featmapNames: [...p.featmapNames],
    outputSize: [...p.outputSize],
    samplingRatio: p.samplingRatio,
  });
  const manifest: DetectorManifest = {
    format: 'residual-onnx-detector',
    version: 1,
    arch: mask ? 'maskrcnn' : 'fasterrcnn',
    opset: ONNX_OPSET,
    layout,
    numClasses: roiHeads.boxPredictor.numClasses,
    parts: parts as DetectorManifest['parts'],
    transform: {
      minSize: [...transform.minSize],
      maxSize: transform.maxSize,
      imageMean: [...transform.imageMean],
      imageStd: [...transform.imageStd],
      sizeDivisible: transform.sizeDivisible,
    },
    anchors: { sizes: rpn.anchorGenerator.sizes.map((s) => [...s]), aspectRatios: rpn.anchorGenerator.aspectRatios.map((r) => [...r]) },
    rpn: { preNmsTopN: rpn.preNmsTopN.testing, postNmsTopN: rpn.postNmsTopN.testing, nmsThresh: rpn.nmsThresh, scoreThresh: rpn.scoreThresh, minSize: rpn.minSize },
    boxRoiPool: pool(roiHeads.boxRoiPool),
    roiHeads: { bboxRegWeights: [...roiHeads.boxCoder.weights], scoreThresh: roiHeads.scoreThresh, nmsThresh: roiHeads.nmsThresh, detectionsPerImg: roiHeads.detectionsPerImg },
    ...(mask ? { maskRoiPool: pool(mask.maskRoiPool) } : {}),
  };
  return { files, manifest };
}
