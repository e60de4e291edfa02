import { Conv2d, Sequential, type Module } from '@residual/core';
import { BasicBlock, Bottleneck, type ResNet } from '@residual/resnet';
import { emitConv, emitLayer, isAffineNorm } from './layer-emitters.js';
import type { OnnxGraph } from './onnx-graph.js';

/** Bottleneck / BasicBlock on NCHW: conv+bn (folded) chain, shortcut (downsample folded too), Add, Relu. */
export function emitResidualBlock(g: OnnxGraph, b: Bottleneck | BasicBlock, x: string, name: string): string {
  let out: string;
  if (b instanceof Bottleneck) {
    out = g.node('Relu', [emitConvNorm(g, b.conv1, b.bn1, x, `${name}.conv1`)], {}, `${name}.relu1`);
    out = g.node('Relu', [emitConvNorm(g, b.conv2, b.bn2, out, `${name}.conv2`)], {}, `${name}.relu2`);
    out = emitConvNorm(g, b.conv3, b.bn3, out, `${name}.conv3`);
  } else {
    out = g.node('Relu', [emitConvNorm(g, b.conv1, b.bn1, x, `${name}.conv1`)], {}, `${name}.relu1`);
    out = emitConvNorm(g, b.conv2, b.bn2, out, `${name}.conv2`);
  }
  const identity = b.downsample ? emitLayer(g, b.downsample, x, `${name}.downsample`) : x;
  return g.node('Relu', [g.node('Add', [out, identity], {}, `${name}.add`)], {}, name);
}

// conv followed by its norm: folded when the norm is an eval-mode affine one, else emitted apart.
function emitConvNorm(g: OnnxGraph, conv: Conv2d, norm: Module, x: string, name: string): string {
  return isAffineNorm(norm) ? emitConv(g, conv, x, name, norm) : emitLayer(g, norm, emitConv(g, conv, x, name), `${name}.norm`);
}

/** A ResNet part on NCHW: a residual block, a stage (Sequential of blocks), or any core layer. */
export function emitResNetPart(g: OnnxGraph, m: Module, x: string, name: string): string {
  if (m instanceof Bottleneck || m instanceof BasicBlock) return emitResidualBlock(g, m, x, name);
  if (m instanceof Sequential && [...m].some((c) => c instanceof Bottleneck || c instanceof BasicBlock)) {
    let h = x;
    [...m].forEach((c, i) => (h = emitResNetPart(g, c, h, `${name}.${i}`)));
    return h;
  }
  return emitLayer(g, m, x, name);
}

/**
 * Runs named children in order on NCHW (a Conv2d followed by an affine norm is folded); returns
 * the value after each child by name. ResNet's stem and stages, and IntermediateLayerGetter's body.
 */
export function emitChildren(g: OnnxGraph, children: ReadonlyArray<[string, Module]>, x: string, prefix: string): Map<string, string> {
  const out = new Map<string, string>();
  let h = x;
  for (let i = 0; i < children.length; i++) {
    const [key, child] = children[i];
    const next = children[i + 1];
    const name = prefix ? `${prefix}.${key}` : key;
    if (child instanceof Conv2d && next && isAffineNorm(next[1])) {
      h = emitConv(g, child, h, name, next[1]);
      out.set(key, h);
      out.set(next[0], h);
      i++;
    } else {
      h = emitResNetPart(g, child, h, name);
      out.set(key, h);
    }
  }
  return out;
}

/** ResNet classifier on NCHW images: stem, layer1..layer4, GlobalAveragePool, Flatten, fc → logits. */
export function emitResNet(g: OnnxGraph, r: ResNet, x: string): string {
  const trunk = [...r.children()].filter(([k]) => k !== 'avgpool' && k !== 'fc');
  const features = emitChildren(g, trunk, x, '').get('layer4') as string;
  const pooled = g.node('GlobalAveragePool', [features], {}, 'avgpool');
  return emitLayer(g, r.fc, g.node('Flatten', [pooled], { axis: { i: 1 } }, 'flatten'), 'fc');
}
