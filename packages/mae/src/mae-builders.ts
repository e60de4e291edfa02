import { MaskedAutoencoderViT, type MaskedAutoencoderConfig } from './masked-autoencoder.js';

/** Options the named MAE builders leave open (image size, channels, normPixLoss, generator). */
export type MaeBuilderOptions = Pick<MaskedAutoencoderConfig, 'imgSize' | 'inChans' | 'normPixLoss' | 'generator'>;

const decoder512d8b = { decoderEmbedDim: 512, decoderDepth: 8, decoderNumHeads: 16, mlpRatio: 4, normEps: 1e-6 };

/** mae_vit_base_patch16 (dec512d8b): ViT-B/16 encoder (768, 12 blocks, 12 heads). */
export function maeVitBasePatch16(options: MaeBuilderOptions = {}): MaskedAutoencoderViT {
  return new MaskedAutoencoderViT({ ...options, ...decoder512d8b, patchSize: 16, embedDim: 768, depth: 12, numHeads: 12 });
}

/** mae_vit_large_patch16 (dec512d8b): ViT-L/16 encoder (1024, 24 blocks, 16 heads). */
export function maeVitLargePatch16(options: MaeBuilderOptions = {}): MaskedAutoencoderViT {
  return new MaskedAutoencoderViT({ ...options, ...decoder512d8b, patchSize: 16, embedDim: 1024, depth: 24, numHeads: 16 });
}

/** mae_vit_huge_patch14 (dec512d8b): ViT-H/14 encoder (1280, 32 blocks, 16 heads). */
export function maeVitHugePatch14(options: MaeBuilderOptions = {}): MaskedAutoencoderViT {
  return new MaskedAutoencoderViT({ ...options, ...decoder512d8b, patchSize: 14, embedDim: 1280, depth: 32, numHeads: 16 });
}

/**
 * A tiny MAE for tests and demos (the config of the parity fixture): 32×32 input (default),
 * patch 8, encoder 32 wide, 2 blocks, 4 heads; decoder 24 wide, 2 blocks, 3 heads; eps 1e-6.
 */
export function maeVitTestPatch8(options: MaeBuilderOptions = {}): MaskedAutoencoderViT {
  return new MaskedAutoencoderViT({
    imgSize: 32, ...options, patchSize: 8, embedDim: 32, depth: 2, numHeads: 4,
    decoderEmbedDim: 24, decoderDepth: 2, decoderNumHeads: 3, mlpRatio: 4, normEps: 1e-6,
  });
}
