import { LayerNorm, type Linear } from '@residual/core';
import type { Attention, Block, Mlp, VisionTransformer } from '@residual/vit';
import { emitConv, emitGelu, emitLayer, emitLayerNorm } from './layer-emitters.js';
import type { OnnxGraph } from './onnx-graph.js';

/** timm's Attention on tokens [B,N,D]: fused qkv → heads → softmax(q·kᵀ·scale)·v → proj. */
export function emitAttention(g: OnnxGraph, a: Attention, x: string, name: string): string {
  const qkv = emitLayer(g, a.qkv, x, `${name}.qkv`);
  const split = g.node('Reshape', [qkv, g.int64s('qkv_shape', [0, 0, 3, a.numHeads, a.headDim])], {}, `${name}.qkv_heads`);
  const heads = g.node('Transpose', [split], { perm: { ints: [2, 0, 3, 1, 4] } }, `${name}.qkv_t`); // [3,B,H,N,hd]
  const pick = (k: number, hint: string): string => g.node('Gather', [heads, g.int64s(`index${k}`, [k], [])], { axis: { i: 0 } }, `${name}.${hint}`);
  const [q, k, v] = [pick(0, 'q'), pick(1, 'k'), pick(2, 'v')];
  const kt = g.node('Transpose', [k], { perm: { ints: [0, 1, 3, 2] } }, `${name}.kt`);
  // timm scales after the product: softmax((q·kᵀ)·scale)
  const logits = g.node('Mul', [g.node('MatMul', [q, kt], {}, `${name}.qk`), g.floats(`${name}.scale`, Float32Array.of(a.scale), [])], {}, `${name}.logits`);
  const attn = g.node('Softmax', [logits], { axis: { i: -1 } }, `${name}.softmax`);
  const out = g.node('Transpose', [g.node('MatMul', [attn, v], {}, `${name}.av`)], { perm: { ints: [0, 2, 1, 3] } }, `${name}.av_t`); // [B,N,H,hd]
  const merged = g.node('Reshape', [out, g.int64s('merge_shape', [0, 0, a.dim])], {}, `${name}.merged`);
  return emitLayer(g, a.proj, merged, `${name}.proj`);
}

function emitMlp(g: OnnxGraph, m: Mlp, x: string, name: string): string {
  const h = emitGelu(g, emitLayer(g, m.fc1, x, `${name}.fc1`), `${name}.act`, m.act.approximate);
  return emitLayer(g, m.fc2, h, `${name}.fc2`);
}

/** Pre-norm block: x + attn(norm1(x)), then + mlp(norm2(·)) (drop paths are identities at inference). */
export function emitBlock(g: OnnxGraph, b: Block, x: string, name: string): string {
  const y = g.node('Add', [x, emitAttention(g, b.attn, emitLayerNorm(g, b.norm1, x, `${name}.norm1`), `${name}.attn`)], {}, `${name}.res1`);
  return g.node('Add', [y, emitMlp(g, b.mlp, emitLayerNorm(g, b.norm2, y, `${name}.norm2`), `${name}.mlp`)], {}, name);
}

/**
 * VisionTransformer on NCHW images [N,C,S,S]: patch conv → tokens [N,L,D] (row-major) → class token
 * + position embedding → blocks → norm and class token (or mean of patch tokens and fc_norm) → head.
 */
export function emitVisionTransformer(g: OnnxGraph, vit: VisionTransformer, x: string): string {
  const d = vit.embedDim;
  const grid = emitConv(g, vit.patchEmbed.proj, x, 'patch_embed.proj'); // [N,D,h,w]
  const flat = g.node('Reshape', [grid, g.int64s('tokens_shape', [0, d, -1])], {}, 'patch_embed.flat'); // [N,D,L]
  const patches = g.node('Transpose', [flat], { perm: { ints: [0, 2, 1] } }, 'patch_embed.tokens'); // [N,L,D]
  // The tokens are stored in torch's layout already; read just these two.
  const cls = { values: vit.clsToken.dataSync() as Float32Array, shape: [...vit.clsToken.shape] };
  const pos = { values: vit.posEmbed.dataSync() as Float32Array, shape: [...vit.posEmbed.shape] };
  const batch = g.node('Slice', [g.node('Shape', [patches], {}, 'tokens_dims'), g.int64s('starts0', [0]), g.int64s('ends1', [1])], {}, 'batch');
  const clsShape = g.node('Concat', [batch, g.int64s('one_d', [1, d])], { axis: { i: 0 } }, 'cls_shape');
  const clsTokens = g.node('Expand', [g.floats('cls_token', cls.values, cls.shape), clsShape], {}, 'cls_tokens'); // [N,1,D]
  const tokens = g.node('Concat', [clsTokens, patches], { axis: { i: 1 } }, 'tokens');
  let t = g.node('Add', [tokens, g.floats('pos_embed', pos.values, pos.shape)], {}, 'tokens_pos');
  [...vit.blocks].forEach((b, i) => (t = emitBlock(g, b, t, `blocks.${i}`)));
  let pooled: string;
  if (vit.fcNorm instanceof LayerNorm) {
    const patchTokens = g.node('Slice', [t, g.int64s('starts1', [1]), g.int64s('ends_max', [2 ** 53 - 1]), g.int64s('axis1', [1])], {}, 'patch_tokens');
    pooled = emitLayerNorm(g, vit.fcNorm, g.node('ReduceMean', [patchTokens], { axes: { ints: [1] }, keepdims: { i: 0 } }, 'mean'), 'fc_norm');
  } else {
    const normed = vit.norm ? emitLayerNorm(g, vit.norm, t, 'norm') : t;
    pooled = g.node('Gather', [normed, g.int64s('index0', [0], [])], { axis: { i: 1 } }, 'cls_out'); // [N,D]
  }
  return vit.numClasses > 0 ? emitLayer(g, vit.head as Linear, pooled, 'head') : pooled;
}
