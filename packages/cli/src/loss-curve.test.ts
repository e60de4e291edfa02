import { curvesSvg, movingAverage } from './loss-curve.js';

describe('curvesSvg', () => {
  it('draws one polyline per curve, skipping non-finite values, with a legend entry each', () => {
    const svg = curvesSvg(
      [
        { name: 'total', steps: [0, 1, 2], values: [4, NaN, 1] },
        { name: 'plain <20>', steps: [0, 2], values: [3, 2], colour: '#e6a700', dash: '7 4' },
      ],
      'loss & error',
    );
    const polylines = [...svg.matchAll(/<polyline [^>]*points="([^"]*)"/g)].map((m) => m[1].split(' ').length);
    expect(polylines).toEqual([2, 2]);
    expect(svg).toContain('stroke="#e6a700" stroke-width="2" stroke-dasharray="7 4"');
    expect(svg).toContain('>plain &lt;20&gt;</text>');
    expect(svg).toContain('>loss &amp; error</text>');
  });

  it('rounds the y axis up to a round tick, never above yMax', () => {
    const ticks = (svg: string): string[] => [...svg.matchAll(/text-anchor="end">([^<]*)</g)].map((m) => m[1]);
    expect(ticks(curvesSvg([{ name: 'a', steps: [0, 10], values: [5.3, 1] }], 't'))).toEqual(['0', '1', '2', '3', '4', '5', '6']);
    expect(ticks(curvesSvg([{ name: 'a', steps: [0, 10], values: [250, 1] }], 't', { yMax: 100 }))).toEqual(['0', '20', '40', '60', '80', '100']);
  });
});

describe('movingAverage', () => {
  it('averages the last `window` values, fewer at the start', () => {
    expect(movingAverage([1, 2, 3, 4], 2)).toEqual([1, 1.5, 2.5, 3.5]);
  });
});
