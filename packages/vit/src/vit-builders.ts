import { VisionTransformer, type VisionTransformerConfig } from './vision-transformer.js';

/** Options the named ViT builders leave open (the architecture itself is fixed by the name). */
export type VitBuilderOptions = Omit<
  VisionTransformerConfig,
  'patchSize' | 'embedDim' | 'depth' | 'numHeads' | 'mlpRatio' | 'qkvBias' | 'normEps'
>;

/** ViT-B/16 (MAE models_vit.vit_base_patch16): D 768, depth 12, 12 heads, qkv bias, LayerNorm eps 1e-6. */
export function vitBasePatch16(options: VitBuilderOptions = {}): VisionTransformer {
  return new VisionTransformer({
    ...options, patchSize: 16, embedDim: 768, depth: 12, numHeads: 12, mlpRatio: 4, qkvBias: true, normEps: 1e-6,
  });
}

/** ViT-L/16 (MAE models_vit.vit_large_patch16): D 1024, depth 24, 16 heads, qkv bias, LayerNorm eps 1e-6. */
export function vitLargePatch16(options: VitBuilderOptions = {}): VisionTransformer {
  return new VisionTransformer({
    ...options, patchSize: 16, embedDim: 1024, depth: 24, numHeads: 16, mlpRatio: 4, qkvBias: true, normEps: 1e-6,
  });
}

/** ViT-H/14 (MAE models_vit.vit_huge_patch14): D 1280, depth 32, 16 heads, qkv bias, LayerNorm eps 1e-6. */
export function vitHugePatch14(options: VitBuilderOptions = {}): VisionTransformer {
  return new VisionTransformer({
    ...options, patchSize: 14, embedDim: 1280, depth: 32, numHeads: 16, mlpRatio: 4, qkvBias: true, normEps: 1e-6,
  });
}

/**
 * A tiny ViT for tests and demos: 32×32 input (default), patch 8, D 32, depth 2, 4 heads, qkv bias,
 * LayerNorm eps 1e-6.
 */
export function vitTestPatch8(options: VitBuilderOptions = {}): VisionTransformer {
  return new VisionTransformer({
    imgSize: 32, ...options, patchSize: 8, embedDim: 32, depth: 2, numHeads: 4, mlpRatio: 4, qkvBias: true, normEps: 1e-6,
  });
}
