import { ValueError, defaultGenerator, type Generator } from '@residual/core';

/** Permutations to use instead of random ones (parity tests inject torch's randperm draws). */
export interface SamplerPermutations {
  /** A permutation of 0..#positives−1; its first num_pos entries are taken. */
  positive: ArrayLike<number>;
  /** A permutation of 0..#negatives−1; its first num_neg entries are taken. */
  negative: ArrayLike<number>;
}

/** Per-image 0/1 masks of the sampled positives and negatives. */
export interface SampledMasks {
  positive: Uint8Array[];
  negative: Uint8Array[];
}

/**
 * torchvision's `BalancedPositiveNegativeSampler`: per image, positives are labels ≥ 1, negatives
 * labels = 0 (−1 ignored); `numPos = min(#pos, ⌊batch·fraction⌋)`, `numNeg = min(#neg, batch − numPos)`,
 * each drawn without replacement as the first entries of a random permutation (from `generator`, or
 * injected).
 */
export class BalancedPositiveNegativeSampler {
  private readonly generator: Generator;

  constructor(
    readonly batchSizePerImage: number,
    readonly positiveFraction: number,
    generator?: Generator,
  ) {
    if (!Number.isInteger(batchSizePerImage) || batchSizePerImage < 1) {
      throw new ValueError(`BalancedPositiveNegativeSampler: batchSizePerImage must be a positive integer, got ${batchSizePerImage}`);
    }
    if (!(positiveFraction >= 0 && positiveFraction <= 1)) {
      throw new ValueError(`BalancedPositiveNegativeSampler: positiveFraction must be in [0,1], got ${positiveFraction}`);
    }
    this.generator = generator ?? defaultGenerator();
  }

  /**
   * Samples each image's `labels` (1 / 0 / −1 per anchor or proposal). With `permutations` (one per
   * image) those are used instead of random draws; each must hold at least the needed count.
   */
  sample(labels: readonly ArrayLike<number>[], permutations?: readonly SamplerPermutations[]): SampledMasks {
    if (permutations && permutations.length !== labels.length) {
      throw new ValueError(
        `BalancedPositiveNegativeSampler.sample: permutations must have one entry per image (${labels.length}), got ${permutations.length}`,
      );
    }
    const positive: Uint8Array[] = [];
    const negative: Uint8Array[] = [];
    labels.forEach((l, img) => {
      const pos: number[] = [];
      const neg: number[] = [];
      for (let i = 0; i < l.length; i++) {
        if (l[i] >= 1) pos.push(i);
        else if (l[i] === 0) neg.push(i);
      }
      const numPos = Math.min(pos.length, Math.trunc(this.batchSizePerImage * this.positiveFraction));
      const numNeg = Math.min(neg.length, this.batchSizePerImage - numPos);
      const perms = permutations?.[img];
      positive.push(this.pick(pos, numPos, l.length, perms?.positive, `positive permutation of image ${img}`));
      negative.push(this.pick(neg, numNeg, l.length, perms?.negative, `negative permutation of image ${img}`));
    });
    return { positive, negative };
  }

  private pick(members: number[], count: number, size: number, perm: ArrayLike<number> | undefined, what: string): Uint8Array {
    const mask = new Uint8Array(size);
    const order = perm ?? this.generator.randperm(members.length);
    if (order.length < count) {
      throw new ValueError(`BalancedPositiveNegativeSampler.sample: ${what} must hold at least ${count} entries, got ${order.length}`);
    }
    for (let k = 0; k < count; k++) {
      const m = members[order[k]];
      if (m === undefined) {
        throw new ValueError(`BalancedPositiveNegativeSampler.sample: ${what} has ${order[k]}, outside 0..${members.length - 1}`);
      }
      mask[m] = 1;
    }
    return mask;
  }
}
