import sharp from 'sharp';

/** One named series of (step, value) points. */
export interface Curve {
  name: string;
  steps: readonly number[];
  values: readonly number[];
}

const COLOURS = ['#000000', '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] as string);
}

/**
 * A line chart of `curves` (x = step, y = value from 0) as an SVG string: axes with ticks, one
 * coloured polyline per curve (the first black) and a legend. Non-finite values are skipped.
 */
export function curvesSvg(curves: readonly Curve[], title: string, width = 800, height = 480): string {
  const m = { left: 60, right: 180, top: 40, bottom: 44 };
  const w = width - m.left - m.right;
  const h = height - m.top - m.bottom;
  const finite = curves.flatMap((c) => c.values.filter(Number.isFinite));
  const xMax = Math.max(1, ...curves.flatMap((c) => c.steps));
  const yMax = Math.max(1e-6, ...finite) * 1.05;
  const x = (s: number): number => m.left + (s / xMax) * w;
  const y = (v: number): number => m.top + h - (Math.min(v, yMax) / yMax) * h;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="13">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${m.left}" y="24" font-size="16">${escapeXml(title)}</text>`,
    `<line x1="${m.left}" y1="${m.top + h}" x2="${m.left + w}" y2="${m.top + h}" stroke="#444"/>`,
    `<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${m.top + h}" stroke="#444"/>`,
    `<text x="${m.left + w / 2}" y="${height - 8}" text-anchor="middle">step</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const v = (yMax * i) / 5;
    const s = Math.round((xMax * i) / 5);
    parts.push(`<line x1="${m.left}" y1="${y(v)}" x2="${m.left + w}" y2="${y(v)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${m.left - 6}" y="${y(v) + 4}" text-anchor="end">${v.toPrecision(2)}</text>`);
    parts.push(`<text x="${x(s)}" y="${m.top + h + 18}" text-anchor="middle">${s}</text>`);
  }
  curves.forEach((c, k) => {
    const colour = COLOURS[k % COLOURS.length];
    const points = c.steps.flatMap((s, i) => (Number.isFinite(c.values[i]) ? [`${x(s).toFixed(1)},${y(c.values[i]).toFixed(1)}`] : []));
    parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="${k === 0 ? 2.2 : 1.3}" points="${points.join(' ')}"/>`);
    const ly = m.top + 10 + 20 * k;
    parts.push(`<line x1="${m.left + w + 14}" y1="${ly}" x2="${m.left + w + 38}" y2="${ly}" stroke="${colour}" stroke-width="2"/>`);
    parts.push(`<text x="${m.left + w + 44}" y="${ly + 4}">${escapeXml(c.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** {@link curvesSvg} rendered to PNG bytes by sharp. */
export async function curvesPng(curves: readonly Curve[], title: string): Promise<Buffer> {
  return sharp(Buffer.from(curvesSvg(curves, title))).png().toBuffer();
}

/** Moving average over the last `window` values (the first ones average what exists). */
export function movingAverage(values: readonly number[], window: number): number[] {
  let sum = 0;
  return values.map((v, i) => {
    sum += v;
    if (i >= window) sum -= values[i - window];
    return sum / Math.min(i + 1, window);
  });
}
