import { formatFixed } from './format-fixed.js';

describe('formatFixed', () => {
  it.each([
    [0.0625, '0.062'],
    [0.3125, '0.312'],
  ])('rounds an exact tie %p half to even as Python does (%p; toFixed gives the other)', (x, want) => {
    expect(formatFixed(x, 3)).toBe(want);
    expect(x.toFixed(3)).not.toBe(want);
  });

  it.each([
    [0.1875, 3, '0.188'],
    [-1, 3, '-1.000'],
    [-0.0001, 3, '-0.000'],
    [0.5, 3, '0.500'],
    [0.0005, 3, '0.001'],
    [0.9995, 3, '1.000'],
    [0.6665, 3, '0.666'],
    [1 / 3, 3, '0.333'],
    [2 / 3, 3, '0.667'],
    [0.125, 2, '0.12'],
    [0.375, 2, '0.38'],
    [0.95, 2, '0.95'],
    [0.015, 2, '0.01'],
    [12345.5, 0, '12346'],
    [1e21, 1, '1000000000000000000000.0'],
  ])('formats %p with %p decimals as %p (Python "{:0.Nf}")', (x, digits, want) => {
    expect(formatFixed(x, digits)).toBe(want);
  });
});
