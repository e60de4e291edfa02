export { get2dSincosPosEmbed } from './sincos-pos-embed.js';
export { PatchEmbed, type PatchEmbedOptions } from './patch-embed.js';
export { Attention, type AttentionOptions } from './attention.js';
export { Mlp, type MlpOptions } from './mlp.js';
export { Block, type BlockOptions } from './block.js';
export { VisionTransformer, type VisionTransformerConfig, type PosEmbedKind } from './vision-transformer.js';
export { vitBasePatch16, vitLargePatch16, vitHugePatch14, vitTestPatch8, type VitBuilderOptions } from './vit-builders.js';
export { interpolatePosEmbed } from './interpolate-pos-embed.js';
