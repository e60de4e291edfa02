import { ValueError } from '../errors.js';

/** A size given once for both spatial axes or as `[h, w]` (torch's `_pair`). */
export type Size2 = number | readonly [number, number];

/**
 * `[h, w]` from a number or a pair, checking each value is an integer ≥ `min`.
 * Throws ValueError: `${where}: ${name} must be integers >= ${min}, got …`.
 */
export function toPair(value: Size2, name: string, where: string, min = 1): [number, number] {
  const pair: [number, number] = typeof value === 'number' ? [value, value] : [value[0], value[1]];
  const ok =
    (typeof value === 'number' || value.length === 2) && pair.every((v) => Number.isInteger(v) && v >= min);
  if (!ok) {
    const shown = typeof value === 'number' ? String(value) : `[${value.join(', ')}]`;
    throw new ValueError(`${where}: ${name} must be an integer >= ${min} or a pair of them, got ${shown}`);
  }
  return pair;
}
