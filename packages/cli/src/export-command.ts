import { StateDictError } from '@residual/core';
import { exportDetector, toOnnx, type OnnxLayout } from '@residual/onnx';
import { saveDetectorOnnx, saveOnnx } from '@residual/onnx/node';
import type { ResNet, ResNetName } from '@residual/resnet';
import { BACKBONES, CLASSIFIERS, DETECTOR_ARCHS, type DetectorArch } from './arch-table.js';
import type { Command, CommandContext } from './command.js';
import { UsageError } from './command.js';
import { loadDetectorModel } from './detector-options.js';
import { choiceFlag, numberFlag, stringFlag } from './flag-values.js';
import { loadWeights } from './load-weights.js';

type ExportArch = ResNetName | DetectorArch;

const ARCHS: readonly ExportArch[] = [...(Object.keys(CLASSIFIERS) as ResNetName[]), ...DETECTOR_ARCHS];
const LAYOUTS: readonly OnnxLayout[] = ['nchw', 'nhwc'];

/** The validated flags of `residual export`. */
export interface ExportFlags {
  /** Absent: a detector whose weights' metadata says its architecture (`residual demo`'s weights). */
  arch?: ExportArch;
  weights: string;
  backbone?: ResNetName;
  out: string;
  /** Classifier input side (square images), default 224. */
  imageSize: number;
  layout: OnnxLayout;
}

/** Reads and checks the flags of `residual export` (UsageError, exit 2, for anything wrong). */
export function exportFlags(ctx: CommandContext): ExportFlags {
  if (ctx.positionals.length > 0) {
    throw new UsageError(`residual export: takes no arguments, got ${JSON.stringify(ctx.positionals[0])} (the model comes from --weights)`);
  }
  return {
    arch: choiceFlag(ctx, 'export', 'arch', ARCHS),
    weights: stringFlag(ctx, 'export', 'weights', true),
    backbone: choiceFlag(ctx, 'export', 'backbone', BACKBONES),
    out: stringFlag(ctx, 'export', 'out', true),
    imageSize: numberFlag(ctx, 'export', 'image-size', 224, { integer: true, min: 32 }),
    layout: choiceFlag(ctx, 'export', 'layout', LAYOUTS, 'nchw'),
  };
}

async function loadClassifier(flags: ExportFlags & { arch: ResNetName }): Promise<ResNet> {
  const { tensors } = await loadWeights(flags.weights, '--weights');
  try {
    const fc = tensors.get('fc.weight');
    if (fc === undefined || fc.rank !== 2) {
      throw new StateDictError(`--weights ${flags.weights} has no 2-D "fc.weight": not a torchvision ${flags.arch} classifier`);
    }
    const model = CLASSIFIERS[flags.arch]({ numClasses: fc.shape[0] });
    try {
      model.loadStateDict(tensors);
    } catch (e) {
      model.dispose();
      throw e;
    }
    return model.eval();
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}

const isClassifier = (arch: ExportArch | undefined): arch is ResNetName => arch !== undefined && !(DETECTOR_ARCHS as readonly string[]).includes(arch);

async function runExport(ctx: CommandContext): Promise<void> {
  const flags = exportFlags(ctx);
  await ctx.initBackend();
  if (!isClassifier(flags.arch)) {
    // The model the weights describe, as detect builds it (no --arch for a file that says its own).
    const { model, arch } = await loadDetectorModel({ command: 'export', weights: flags.weights, arch: flags.arch, backbone: flags.backbone });
    let files: string[];
    try {
      files = await saveDetectorOnnx(flags.out, exportDetector(model, { layout: flags.layout }));
    } finally {
      model.dispose();
    }
    if (ctx.common.json) ctx.printJson({ arch, out: flags.out, files, layout: flags.layout });
    else ctx.print(`${arch}: ${files.length - 1} ONNX parts and manifest.json → ${flags.out}`);
    return;
  }
  const model = await loadClassifier({ ...flags, arch: flags.arch });
  let bytes: Uint8Array;
  try {
    const s = flags.imageSize;
    bytes = toOnnx(model, { inputShape: [1, 3, s, s], dynamicBatch: true, layout: flags.layout, name: flags.arch });
  } finally {
    model.dispose();
  }
  await saveOnnx(flags.out, bytes);
  if (ctx.common.json) ctx.printJson({ arch: flags.arch, out: flags.out, bytes: bytes.length, layout: flags.layout });
  else ctx.print(`${flags.arch}: ${(bytes.length / 2 ** 20).toFixed(1)} MiB ONNX (opset 17, ${flags.layout}, dynamic batch) → ${flags.out}`);
}

/** `residual export [--arch ...] --weights ... --out ...`: ONNX models of classifiers and detector parts. */
export const exportCommand: Command = {
  name: 'export',
  summary: 'export a classifier (one .onnx) or a detector (dense parts + manifest.json) to ONNX',
  help: `Usage: residual export [--arch NAME] --weights FILE --out FILE.onnx | DIR
                       [--backbone NAME] [--image-size 224] [--layout nchw|nhwc]

Writes ONNX (opset 17) for onnxruntime and other ONNX runtimes, with the weights' values (norms
folded into the convs). A classifier becomes one file: input "input" [batch,3,S,S] (normalised
images), output "logits" [batch,classes]. A detector becomes a directory: backbone.onnx (images →
FPN maps), rpn_head.onnx, box_head.onnx, mask_head.onnx (maskrcnn) and manifest.json, which lists
each file's inputs and outputs and the settings of the steps left outside ONNX (resize, anchors,
proposal selection, NMS, RoIAlign, mask pasting). Weights written by \`residual demo\` carry their
architecture in their metadata: that model is exported (no --arch needed), as \`residual detect\`
builds it.

Flags:
  --arch NAME                   ${ARCHS.join(', ')}
                                (a detector's is checked against the weights; required unless
                                their metadata describes the model, as the demo's does)
  --weights FILE                safetensors or torch .pth state dict with torchvision keys
  --out FILE | DIR              the .onnx file (classifier) or the directory (detector)
  --backbone NAME               detectors: ${BACKBONES.join(', ')} (default: read from the weights)
  --image-size S                classifiers: input side in pixels (default 224)
  --layout nchw|nhwc            graph inputs and maps in torch's NCHW (default) or NHWC`,
  options: {
    arch: { type: 'string' },
    weights: { type: 'string' },
    backbone: { type: 'string' },
    out: { type: 'string' },
    'image-size': { type: 'string' },
    layout: { type: 'string' },
  },
  run: runExport,
};
