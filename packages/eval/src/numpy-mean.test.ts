import { numpyMean } from './numpy-mean.js';

// The same formula evaluated in Python; np.mean of it printed with repr (numpy 1.24).
const vec = (n: number): number[] => Array.from({ length: n }, (_, i) => ((i * 7919) % 1000) / 997 + 1 / (i + 3));
const NUMPY: Array<[number, number]> = [
  [5, 0.8584911878492619],
  [8, 0.7719008712645874],
  [100, 0.5290467520764226],
  [129, 0.5303379615690021],
  [1000, 0.5069904768926227],
  [8193, 0.5019692656021462],
  [20000, 0.5014520504375678],
];

describe('numpyMean', () => {
  it.each(NUMPY)('equals np.mean to the last bit for %p values', (n, want) => {
    expect(numpyMean(vec(n))).toBe(want);
  });

  it('differs from a left-to-right sum where numpy does (so the order matters)', () => {
    const naive = (v: number[]): number => v.reduce((s, x) => s + x, 0) / v.length;
    expect([8, 1000, 8193, 20000].map((n) => naive(vec(n)) === numpyMean(vec(n)))).toEqual([false, false, false, false]);
  });

  it('is NaN for no values', () => {
    expect(numpyMean([])).toBeNaN();
  });
});
