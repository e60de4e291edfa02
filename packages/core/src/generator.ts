import * as tf from '@tensorflow/tfjs-core';

// Bound once: inside jest's sandbox every global Math lookup costs ~0.3 µs, which made building
// a ResNet-18 with the default generator take minutes there.
const { imul, sqrt, log, cos, floor, PI } = Math;

/** Serializable state of a {@link Generator}: four 32-bit words of xoshiro128**. */
export type GeneratorState = [number, number, number, number];

/**
 * A seedable random number generator (xoshiro128**, seeded by splitmix32).
 * Library code never calls Math.random: every random part takes a Generator, so runs are
 * reproducible and checkpoints can store `state()`. It does not reproduce torch's stream;
 * parity tests inject torch's draws instead.
 */
export class Generator {
  private s: Uint32Array;

  constructor(seed = 0) {
    this.s = new Uint32Array(4);
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      // splitmix32 spreads any seed (0 included) over the whole state.
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
  }

  /** The next raw 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const result = imul(rotl(imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  random(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Standard normal double (Box–Muller; one draw per call, no cached spare, so state stays 4 words). */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.random();
    const v = this.random();
    return sqrt(-2 * log(u)) * cos(2 * PI * v);
  }

  /** Integer uniformly in [0, n). */
  randint(n: number): number {
    return floor(this.random() * n);
  }

  /** A random permutation of 0..n-1 (Fisher–Yates). */
  randperm(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.randint(i + 1);
      const tmp = p[i];
      p[i] = p[j];
      p[j] = tmp;
    }
    return p;
  }

  /** Float32 tensor of U[low, high); caller owns. */
  uniform(shape: number[], low = 0, high = 1): tf.Tensor {
    const size = shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(size);
    for (let i = 0; i < size; i++) values[i] = low + (high - low) * this.random();
    return tf.tensor(values, shape, 'float32');
  }

  /** Float32 tensor of N(mean, std²); caller owns. */
  normalTensor(shape: number[], mean = 0, std = 1): tf.Tensor {
    const size = shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(size);
    for (let i = 0; i < size; i++) values[i] = mean + std * this.normal();
    return tf.tensor(values, shape, 'float32');
  }

  /** A copy of the internal state, for checkpoints. */
  state(): GeneratorState {
    return [this.s[0], this.s[1], this.s[2], this.s[3]];
  }

  /** Restores a state returned by {@link state}. */
  setState(state: GeneratorState): void {
    this.s = Uint32Array.from(state);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

let defaultGen = new Generator(0);

/**
 * The process-wide default generator, used by layer constructors when no `generator` option is
 * given (torch's default generator). Seed it with {@link manualSeed}; pass an explicit Generator
 * wherever reproducibility across call orders matters.
 */
export function defaultGenerator(): Generator {
  return defaultGen;
}

/** Reseeds the default generator (torch.manual_seed). */
export function manualSeed(seed: number): void {
  defaultGen = new Generator(seed);
}
