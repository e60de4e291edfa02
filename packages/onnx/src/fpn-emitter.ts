import { ValueError } from '@residual/core';
import { LastLevelMaxPool, LastLevelP6P7, type BackboneWithFPN, type FeaturePyramidNetwork } from '@residual/fpn';
import { emitConv, emitLayer } from './layer-emitters.js';
import type { OnnxGraph } from './onnx-graph.js';
import { emitChildren } from './resnet-emitter.js';

/**
 * torch's `F.interpolate(x, size=like.shape[-2:], mode='nearest')` as ONNX Resize (asymmetric,
 * floor), sizes read from `like` at run time, as torchvision's own exports. For the FPN's ratios
 * (exactly 2×, or n → 2n−1) it picks the same source rows as torch's float32 index rule.
 */
function emitUpsampleLike(g: OnnxGraph, x: string, like: string, name: string): string {
  const head = g.node('Slice', [g.node('Shape', [x], {}, `${name}.shape_x`), g.int64s('starts0', [0]), g.int64s('ends2', [2])], {}, `${name}.nc`);
  const tail = g.node('Slice', [g.node('Shape', [like], {}, `${name}.shape_like`), g.int64s('starts2', [2]), g.int64s('ends4', [4])], {}, `${name}.hw`);
  const sizes = g.node('Concat', [head, tail], { axis: { i: 0 } }, `${name}.sizes`);
  return g.node(
    'Resize',
    [x, '', '', sizes],
    { mode: { s: 'nearest' }, coordinate_transformation_mode: { s: 'asymmetric' }, nearest_mode: { s: 'floor' } },
    name,
  );
}

/** The FPN on NCHW maps `c` (fine → coarse): top-down pathway, then the extra block; P maps fine → coarse. */
export function emitFpn(g: OnnxGraph, fpn: FeaturePyramidNetwork, c: readonly string[], prefix: string): string[] {
  const n = c.length;
  const inner = (i: number, x: string): string => emitLayer(g, fpn.innerBlocks.get(i), x, `${prefix}.inner_blocks.${i}`);
  const layer = (i: number, x: string): string => emitLayer(g, fpn.layerBlocks.get(i), x, `${prefix}.layer_blocks.${i}`);
  let last = inner(n - 1, c[n - 1]);
  const results = [layer(n - 1, last)];
  for (let i = n - 2; i >= 0; i--) {
    const lateral = inner(i, c[i]);
    const topDown = emitUpsampleLike(g, last, lateral, `${prefix}.upsample.${i}`);
    last = g.node('Add', [lateral, topDown], {}, `${prefix}.merge.${i}`);
    results.unshift(layer(i, last));
  }
  const extra = fpn.extraBlocks;
  if (!extra) return results;
  const p = results[results.length - 1];
  if (extra instanceof LastLevelMaxPool) {
    // max_pool2d(kernel 1, stride 2): rows and columns 0, 2, 4, …
    return [...results, g.node('MaxPool', [p], { kernel_shape: { ints: [1, 1] }, strides: { ints: [2, 2] } }, `${prefix}.extra_blocks.pool`)];
  }
  if (extra instanceof LastLevelP6P7) {
    const p6 = emitConv(g, extra.p6, extra.useP5 ? p : c[n - 1], `${prefix}.extra_blocks.p6`);
    const p7 = emitConv(g, extra.p7, g.node('Relu', [p6], {}, `${prefix}.extra_blocks.p6_relu`), `${prefix}.extra_blocks.p7`);
    return [...results, p6, p7];
  }
  throw new ValueError(`toOnnx: no ONNX export for the FPN extra block ${extra.constructor.name}`);
}

/** BackboneWithFPN on NCHW images → the pyramid maps (names as its forward: '0'…'3', 'pool'). */
export function emitBackboneWithFpn(g: OnnxGraph, b: BackboneWithFPN, x: string): { names: string[]; values: string[] } {
  const body = emitChildren(g, [...b.body.children()], x, 'body');
  const c = [...b.body.returnLayers.keys()].map((k) => body.get(k) as string);
  const values = emitFpn(g, b.fpn, c, 'fpn');
  return { names: b.fpn.outputNames([...b.body.returnLayers.values()]), values };
}
