// Line plot of training-error curves as an SVG string, and its PNG rendering through sharp. No
// plotting library: axes, grid, curves and legend are drawn by hand so the example needs nothing
// beyond what the workspace already installs.
import sharp from 'sharp';

/** Colours and dash patterns of the paper's Fig. 6: thin plain nets dashed, ResNets solid. */
const STYLE = {
  'plain-20': { color: '#e6a700', dash: '7 4' },
  'plain-32': { color: '#1f77b4', dash: '7 4' },
  'plain-44': { color: '#2ca02c', dash: '7 4' },
  'plain-56': { color: '#d62728', dash: '7 4' },
  'resnet-20': { color: '#e6a700', dash: '' },
  'resnet-32': { color: '#1f77b4', dash: '' },
  'resnet-44': { color: '#2ca02c', dash: '' },
  'resnet-56': { color: '#d62728', dash: '' },
};
const FALLBACK = ['#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

const escapeXml = (s) => String(s).replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]);

/** A "nice" axis step (1, 2 or 5 × 10^k) giving about `ticks` intervals over `span`. */
function niceStep(span, ticks) {
  const raw = span / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
}

/**
 * SVG (string) of one chart: x = training step, y = training error in percent.
 * `curves` is `[{ name, steps: number[], error: number[] (fractions 0..1) }]`; names such as
 * `plain-20` / `resnet-56` get the paper's styling (plain dashed, ResNet solid, colour by depth).
 */
export function curvesSvg(curves, { title = '', subtitle = '', width = 900, height = 560 } = {}) {
  const m = { left: 70, right: 170, top: subtitle ? 64 : 44, bottom: 56 };
  const w = width - m.left - m.right;
  const h = height - m.top - m.bottom;
  const xMax = Math.max(1, ...curves.flatMap((c) => c.steps));
  const yTop = Math.min(100, Math.max(10, ...curves.flatMap((c) => c.error.map((e) => 100 * e))));
  const yStep = niceStep(yTop, 6);
  const yMax = Math.ceil(yTop / yStep) * yStep;
  const xStep = niceStep(xMax, 8);
  const px = (s) => m.left + (s / xMax) * w;
  const py = (e) => m.top + h - (Math.min(100 * e, yMax) / yMax) * h;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="DejaVu Sans, sans-serif">`);
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  for (let y = 0; y <= yMax + 1e-9; y += yStep) {
    const yy = py(y / 100).toFixed(1);
    out.push(`<line x1="${m.left}" x2="${m.left + w}" y1="${yy}" y2="${yy}" stroke="#e3e3e3"/>`);
    out.push(`<text x="${m.left - 8}" y="${yy}" dy="4" font-size="13" text-anchor="end">${+y.toFixed(6)}</text>`);
  }
  for (let x = 0; x <= xMax + 1e-9; x += xStep) {
    const xx = px(x).toFixed(1);
    out.push(`<line x1="${xx}" x2="${xx}" y1="${m.top}" y2="${m.top + h}" stroke="#f0f0f0"/>`);
    out.push(`<text x="${xx}" y="${m.top + h + 20}" font-size="13" text-anchor="middle">${+x.toFixed(6)}</text>`);
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${w}" height="${h}" fill="none" stroke="#444"/>`);
  out.push(`<text x="${m.left + w / 2}" y="${height - 14}" font-size="14" text-anchor="middle">training step</text>`);
  out.push(`<text transform="translate(20 ${m.top + h / 2}) rotate(-90)" font-size="14" text-anchor="middle">training error (%)</text>`);
  if (title) out.push(`<text x="${m.left}" y="24" font-size="17" font-weight="bold">${escapeXml(title)}</text>`);
  if (subtitle) out.push(`<text x="${m.left}" y="46" font-size="13" fill="#555">${escapeXml(subtitle)}</text>`);
  curves.forEach((c, i) => {
    const style = STYLE[c.name] ?? { color: FALLBACK[i % FALLBACK.length], dash: '' };
    const d = c.steps.map((s, k) => `${k === 0 ? 'M' : 'L'}${px(s).toFixed(1)} ${py(c.error[k]).toFixed(1)}`).join(' ');
    const dash = style.dash ? ` stroke-dasharray="${style.dash}"` : '';
    out.push(`<path d="${d}" fill="none" stroke="${style.color}" stroke-width="2.2"${dash}/>`);
    const ly = m.top + 18 + 24 * i;
    const lx = m.left + w + 16;
    out.push(`<line x1="${lx}" x2="${lx + 34}" y1="${ly}" y2="${ly}" stroke="${style.color}" stroke-width="2.2"${dash}/>`);
    out.push(`<text x="${lx + 42}" y="${ly}" dy="4" font-size="14">${escapeXml(c.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

/** Renders an SVG string to a PNG file with sharp (librsvg); resolves when the file is written. */
export async function writePng(svg, path) {
  await sharp(Buffer.from(svg)).png({ compressionLevel: 9, palette: true }).toFile(path);
}
