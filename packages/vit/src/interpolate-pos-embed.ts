import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, formatShape } from '@residual/core';

/**
 * util/pos_embed.interpolate_pos_embed for one table: `posEmbed` [1, extra + g², D] (torch layout,
 * borrowed) → [1, extra + n², D] with the `numExtraTokens` leading tokens kept and the g×g grid
 * resized bicubically (torch's `interpolate(mode='bicubic', align_corners=False)`: A = −0.75,
 * border-clamped taps). Returns a new tensor the caller owns (a copy when the grid already fits).
 */
export function interpolatePosEmbed(posEmbed: tf.Tensor, numPatches: number, numExtraTokens = 1): tf.Tensor3D {
  const [one, len, d] = posEmbed.shape;
  const orig = Math.trunc(Math.sqrt(len - numExtraTokens));
  const size = Math.trunc(Math.sqrt(numPatches));
  if (posEmbed.rank !== 3 || one !== 1 || orig * orig !== len - numExtraTokens || size * size !== numPatches) {
    throw new ShapeError(
      `interpolatePosEmbed: posEmbed must be [1, ${numExtraTokens} + g², D] and numPatches a square, ` +
        `got ${formatShape(posEmbed.shape)} and ${numPatches}`,
    );
  }
  if (orig === size) return tf.clone(posEmbed) as tf.Tensor3D;
  const src = posEmbed.dataSync();
  const out = new Float32Array((numExtraTokens + size * size) * d);
  out.set(src.subarray(0, numExtraTokens * d));
  const taps = cubicTaps(orig, size);
  const base = numExtraTokens * d;
  for (let oy = 0; oy < size; oy++) {
    const ty = taps[oy];
    for (let ox = 0; ox < size; ox++) {
      const tx = taps[ox];
      const o = base + (oy * size + ox) * d;
      for (let c = 0; c < d; c++) {
        let acc = 0;
        for (let i = 0; i < 4; i++) {
          let row = 0;
          for (let j = 0; j < 4; j++) row += tx.w[j] * src[base + (ty.idx[i] * orig + tx.idx[j]) * d + c];
          acc += ty.w[i] * row;
        }
        out[o + c] = acc;
      }
    }
  }
  return tf.tensor3d(out, [1, numExtraTokens + size * size, d]);
}

// torch's upsample_bicubic2d: source x = (dst + 0.5)·in/out − 0.5 (not clamped for cubic), four
// taps at floor(x) − 1 … floor(x) + 2 clamped to the border, Keys' weights with A = −0.75.
function cubicTaps(inSize: number, outSize: number): Array<{ idx: number[]; w: number[] }> {
  const A = -0.75;
  const near = (x: number) => ((A + 2) * x - (A + 3)) * x * x + 1;
  const far = (x: number) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
  const scale = Math.fround(inSize / outSize);
  return Array.from({ length: outSize }, (_, o) => {
    const real = Math.fround(scale * (o + 0.5) - 0.5);
    const i0 = Math.floor(real);
    const t = Math.fround(real - i0);
    const clamp = (i: number) => Math.min(Math.max(i, 0), inSize - 1);
    return { idx: [i0 - 1, i0, i0 + 1, i0 + 2].map(clamp), w: [far(t + 1), near(t), near(1 - t), far(2 - t)] };
  });
}
