import sharp from 'sharp';

/** One named series of (step, value) points, drawn solid in the next palette colour unless styled. */
export interface Curve {
  name: string;
  steps: readonly number[];
  values: readonly number[];
  /** CSS colour (default: the palette, the first curve black). */
  colour?: string;
  /** SVG stroke-dasharray, e.g. '7 4' (default: solid). */
  dash?: string;
}

/** Labels and size of {@link curvesSvg}. */
export interface CurveChartOptions {
  /** A second, smaller title line. */
  subtitle?: string;
  xLabel?: string;
  yLabel?: string;
  /** Upper end of the y axis at most this (values above are drawn at the top). Default: the largest value. */
  yMax?: number;
  width?: number;
  height?: number;
}

const PALETTE = ['#000000', '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] as string);
}

/** A round axis step (1, 2 or 5 × 10^k) giving about `ticks` intervals over `span`. */
function niceStep(span: number, ticks: number): number {
  const raw = span / ticks;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / magnitude;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * magnitude;
}

/**
 * A line chart of `curves` (x = step from 0, y = value from 0) as an SVG string: round-numbered
 * grid and ticks, one polyline per curve and a legend. Non-finite values are skipped. No plotting
 * library: the training commands and the examples draw their curves with it.
 */
export function curvesSvg(curves: readonly Curve[], title: string, options: CurveChartOptions = {}): string {
  const { subtitle = '', xLabel = 'step', yLabel = '', width = 800, height = 480 } = options;
  const m = { left: 70, right: 170, top: subtitle ? 64 : 44, bottom: 56 };
  const w = width - m.left - m.right;
  const h = height - m.top - m.bottom;
  const finite = curves.flatMap((c) => c.values.filter(Number.isFinite));
  const xMax = Math.max(1, ...curves.flatMap((c) => c.steps));
  const yTop = Math.min(options.yMax ?? Infinity, Math.max(1e-6, ...finite));
  const yStep = niceStep(yTop, 6);
  const yMax = Math.ceil(yTop / yStep - 1e-9) * yStep;
  const xStep = niceStep(xMax, 8);
  const x = (s: number): number => m.left + (s / xMax) * w;
  const y = (v: number): number => m.top + h - (Math.min(v, yMax) / yMax) * h;
  const label = (v: number): string => String(+v.toPrecision(6));
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="DejaVu Sans, sans-serif" font-size="13">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
  ];
  for (let v = 0; v <= yMax * (1 + 1e-9); v += yStep) {
    parts.push(`<line x1="${m.left}" y1="${y(v).toFixed(1)}" x2="${m.left + w}" y2="${y(v).toFixed(1)}" stroke="#e3e3e3"/>`);
    parts.push(`<text x="${m.left - 8}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${label(v)}</text>`);
  }
  for (let s = 0; s <= xMax * (1 + 1e-9); s += xStep) {
    parts.push(`<line x1="${x(s).toFixed(1)}" y1="${m.top}" x2="${x(s).toFixed(1)}" y2="${m.top + h}" stroke="#f0f0f0"/>`);
    parts.push(`<text x="${x(s).toFixed(1)}" y="${m.top + h + 20}" text-anchor="middle">${label(s)}</text>`);
  }
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${w}" height="${h}" fill="none" stroke="#444"/>`);
  parts.push(`<text x="${m.left + w / 2}" y="${height - 14}" font-size="14" text-anchor="middle">${escapeXml(xLabel)}</text>`);
  if (yLabel) parts.push(`<text transform="translate(20 ${m.top + h / 2}) rotate(-90)" font-size="14" text-anchor="middle">${escapeXml(yLabel)}</text>`);
  parts.push(`<text x="${m.left}" y="24" font-size="17" font-weight="bold">${escapeXml(title)}</text>`);
  if (subtitle) parts.push(`<text x="${m.left}" y="46" fill="#555">${escapeXml(subtitle)}</text>`);
  curves.forEach((c, k) => {
    const colour = c.colour ?? PALETTE[k % PALETTE.length];
    const dash = c.dash ? ` stroke-dasharray="${c.dash}"` : '';
    const points = c.steps.flatMap((s, i) => (Number.isFinite(c.values[i]) ? [`${x(s).toFixed(1)},${y(c.values[i]).toFixed(1)}`] : []));
    parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="2"${dash} points="${points.join(' ')}"/>`);
    const ly = m.top + 18 + 22 * k;
    parts.push(`<line x1="${m.left + w + 14}" y1="${ly}" x2="${m.left + w + 46}" y2="${ly}" stroke="${colour}" stroke-width="2"${dash}/>`);
    parts.push(`<text x="${m.left + w + 52}" y="${ly + 4}">${escapeXml(c.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** {@link curvesSvg} rendered to PNG bytes by sharp. */
export async function curvesPng(curves: readonly Curve[], title: string, options: CurveChartOptions = {}): Promise<Buffer> {
  return sharp(Buffer.from(curvesSvg(curves, title, options))).png().toBuffer();
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
