import * as tf from '@tensorflow/tfjs-core';
import { ValueError, formatShape } from '../errors.js';
import { defaultGenerator, type Generator } from '../generator.js';
import { truncatedStandardNormal } from './truncated-normal.js';

// torch.nn.init, returning new float32 tensors in torch layout for a torch shape (caller owns).
// Modules move them into tfjs layout with `initParameter`, which applies the parameter's layout.
// Random values come from a residual Generator, so they match torch's formulas and statistics,
// not torch's random stream.

/** Nonlinearities known to {@link calculateGain} (torch.nn.init.calculate_gain). */
export type Nonlinearity =
  | 'linear'
  | 'conv1d'
  | 'conv2d'
  | 'conv3d'
  | 'conv_transpose1d'
  | 'conv_transpose2d'
  | 'conv_transpose3d'
  | 'sigmoid'
  | 'tanh'
  | 'relu'
  | 'leaky_relu'
  | 'selu';

/** Which fan {@link kaimingNormal} / {@link kaimingUniform} scale by. */
export type FanMode = 'fan_in' | 'fan_out';

/** Options of {@link kaimingNormal} and {@link kaimingUniform} (torch's defaults). */
export interface KaimingOptions {
  /** Negative slope of the leaky_relu that follows (default 0). */
  a?: number;
  /** 'fan_in' keeps the forward variance, 'fan_out' the backward one (default 'fan_in'). */
  mode?: FanMode;
  /** Default 'leaky_relu' (with slope `a`). */
  nonlinearity?: Nonlinearity;
}

/**
 * Fan-in and fan-out of a weight with torch shape `[d0, d1, k...]`: receptive = ∏k (1 for a
 * matrix), fanIn = d1·receptive, fanOut = d0·receptive. Transposed convs are not special-cased,
 * as in torch. Throws a ValueError for fewer than 2 dimensions.
 */
export function calculateFanInAndFanOut(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) {
    throw new ValueError(
      `calculateFanInAndFanOut: shape must have at least 2 dimensions, got ${formatShape(shape)}`,
    );
  }
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

/**
 * Recommended gain for a nonlinearity: 1 for linear/conv/sigmoid, 5/3 for tanh, √2 for relu,
 * √(2/(1+slope²)) for leaky_relu (slope = `param`, default 0.01), 3/4 for selu.
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv1d':
    case 'conv2d':
    case 'conv3d':
    case 'conv_transpose1d':
    case 'conv_transpose2d':
    case 'conv_transpose3d':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      if (!Number.isFinite(slope)) throw new ValueError(`calculateGain: param must be a finite number, got ${slope}`);
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu':
      return 3 / 4;
    default:
      throw new ValueError(`calculateGain: unsupported nonlinearity "${String(nonlinearity)}"`);
  }
}

function kaimingScale(shape: readonly number[], options: KaimingOptions, where: string): number {
  const { a = 0, mode = 'fan_in', nonlinearity = 'leaky_relu' } = options;
  if (mode !== 'fan_in' && mode !== 'fan_out') {
    throw new ValueError(`${where}: mode must be 'fan_in' or 'fan_out', got "${String(mode)}"`);
  }
  const fans = calculateFanInAndFanOut(shape);
  const fan = mode === 'fan_in' ? fans.fanIn : fans.fanOut;
  return calculateGain(nonlinearity, a) / Math.sqrt(fan);
}

/** N(0, std²) with std = gain/√fan (torch.nn.init.kaiming_normal_); new tensor, caller owns. */
export function kaimingNormal(shape: number[], options: KaimingOptions = {}, generator?: Generator): tf.Tensor {
  const std = kaimingScale(shape, options, 'kaimingNormal');
  return (generator ?? defaultGenerator()).normalTensor(shape, 0, std);
}

/** U(−b, b) with b = gain·√(3/fan) (torch.nn.init.kaiming_uniform_); new tensor, caller owns. */
export function kaimingUniform(shape: number[], options: KaimingOptions = {}, generator?: Generator): tf.Tensor {
  const bound = Math.sqrt(3) * kaimingScale(shape, options, 'kaimingUniform');
  return (generator ?? defaultGenerator()).uniform(shape, -bound, bound);
}

/** U(−b, b) with b = gain·√(6/(fanIn+fanOut)) (torch.nn.init.xavier_uniform_); caller owns. */
export function xavierUniform(shape: number[], options: { gain?: number } = {}, generator?: Generator): tf.Tensor {
  const { fanIn, fanOut } = calculateFanInAndFanOut(shape);
  const bound = (options.gain ?? 1) * Math.sqrt(6 / (fanIn + fanOut));
  return (generator ?? defaultGenerator()).uniform(shape, -bound, bound);
}

/** N(0, std²) with std = gain·√(2/(fanIn+fanOut)) (torch.nn.init.xavier_normal_); caller owns. */
export function xavierNormal(shape: number[], options: { gain?: number } = {}, generator?: Generator): tf.Tensor {
  const { fanIn, fanOut } = calculateFanInAndFanOut(shape);
  const std = (options.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut));
  return (generator ?? defaultGenerator()).normalTensor(shape, 0, std);
}

/** Options of {@link truncNormal}; `a` and `b` are absolute bounds, not multiples of std (as torch). */
export interface TruncNormalOptions {
  mean?: number;
  std?: number;
  a?: number;
  b?: number;
}

/**
 * N(mean, std²) restricted to [a, b] (torch.nn.init.trunc_normal_; exact rejection sampling
 * rather than torch's inverse-CDF, same distribution). New float32 tensor, caller owns.
 */
export function truncNormal(shape: number[], options: TruncNormalOptions = {}, generator?: Generator): tf.Tensor {
  const { mean = 0, std = 1, a = -2, b = 2 } = options;
  if (!(std > 0)) throw new ValueError(`truncNormal: std must be > 0, got ${std}`);
  if (!(a < b)) throw new ValueError(`truncNormal: a must be < b, got a=${a}, b=${b}`);
  const gen = generator ?? defaultGenerator();
  const alpha = (a - mean) / std;
  const beta = (b - mean) / std;
  const size = shape.reduce((p, d) => p * d, 1);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    // Clamp as torch does, so float32 rounding can never step outside [a, b].
    values[i] = Math.min(Math.max(mean + std * truncatedStandardNormal(alpha, beta, gen), a), b);
  }
  return tf.tensor(values, shape, 'float32');
}

/** N(mean, std²) (torch.nn.init.normal_, defaults 0 and 1); new tensor, caller owns. */
export function normal(shape: number[], options: { mean?: number; std?: number } = {}, generator?: Generator): tf.Tensor {
  return (generator ?? defaultGenerator()).normalTensor(shape, options.mean ?? 0, options.std ?? 1);
}

/** U(low, high) (torch.nn.init.uniform_, defaults 0 and 1); new tensor, caller owns. */
export function uniform(shape: number[], options: { low?: number; high?: number } = {}, generator?: Generator): tf.Tensor {
  return (generator ?? defaultGenerator()).uniform(shape, options.low ?? 0, options.high ?? 1);
}

/** Float32 zeros of `shape`; new tensor, caller owns. */
export function zeros(shape: number[]): tf.Tensor {
  return tf.zeros(shape, 'float32');
}

/** Float32 ones of `shape`; new tensor, caller owns. */
export function ones(shape: number[]): tf.Tensor {
  return tf.ones(shape, 'float32');
}

/** Float32 tensor of `shape` filled with `value`; new tensor, caller owns. */
export function constant(shape: number[], value: number): tf.Tensor {
  return tf.fill(shape, value, 'float32');
}
