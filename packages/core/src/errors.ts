import type { Tensor } from '@tensorflow/tfjs-core';

/** A tensor argument has the wrong rank, shape or dtype. */
export class ShapeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ShapeError';
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** A state dict does not fit a module: missing, unexpected or mis-shaped keys. */
export class StateDictError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StateDictError';
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** An argument has a value outside what the function accepts. */
export class ValueError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ValueError';
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** Formats a shape as `[a,b,c]` for error messages. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/**
 * Throws a ShapeError unless `t` has the expected shape; -1 matches any size.
 * Message: `${where}: ${name} must be [N,4], got [5,5]`.
 */
export function assertShape(t: Tensor, expected: readonly number[], name: string, where: string): void {
  const ok = t.rank === expected.length && expected.every((d, i) => d === -1 || d === t.shape[i]);
  if (!ok) {
    const want = expected.map((d, i) => (d === -1 ? 'NKMLCHW'[i % 7] : String(d))).join(',');
    throw new ShapeError(`${where}: ${name} must be [${want}], got ${formatShape(t.shape)}`);
  }
}

/** Throws a ShapeError unless `t` has one of the given dtypes. */
export function assertDtype(t: Tensor, dtypes: readonly string[], name: string, where: string): void {
  if (!dtypes.includes(t.dtype)) {
    throw new ShapeError(`${where}: ${name} must be ${dtypes.join(' or ')}, got ${t.dtype}`);
  }
}
