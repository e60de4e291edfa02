// A loss curve as an SVG string and its PNG rendering through sharp (no plotting library needed).
import sharp from 'sharp';

const escapeXml = (s) => String(s).replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]);

/** A "nice" axis step (1, 2 or 5 × 10^k) giving about `ticks` intervals over `span`. */
function niceStep(span, ticks) {
  const raw = span / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
}

/** SVG of one curve: x = optimiser step, y = loss (linear axis from 0). */
export function lossSvg(steps, loss, { title = '', subtitle = '', width = 800, height = 480 } = {}) {
  const m = { left: 70, right: 30, top: subtitle ? 64 : 44, bottom: 56 };
  const w = width - m.left - m.right;
  const h = height - m.top - m.bottom;
  const xMax = Math.max(1, ...steps);
  const yStep = niceStep(Math.max(...loss), 6);
  const yMax = Math.ceil(Math.max(...loss) / yStep) * yStep;
  const xStep = niceStep(xMax, 8);
  const px = (s) => m.left + (s / xMax) * w;
  const py = (v) => m.top + h - (v / yMax) * h;
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="DejaVu Sans, sans-serif">`];
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  for (let y = 0; y <= yMax + 1e-9; y += yStep) {
    const yy = py(y).toFixed(1);
    out.push(`<line x1="${m.left}" x2="${m.left + w}" y1="${yy}" y2="${yy}" stroke="#e3e3e3"/>`);
    out.push(`<text x="${m.left - 8}" y="${yy}" dy="4" font-size="13" text-anchor="end">${+y.toFixed(6)}</text>`);
  }
  for (let x = 0; x <= xMax + 1e-9; x += xStep) {
    const xx = px(x).toFixed(1);
    out.push(`<line x1="${xx}" x2="${xx}" y1="${m.top}" y2="${m.top + h}" stroke="#f0f0f0"/>`);
    out.push(`<text x="${xx}" y="${m.top + h + 20}" font-size="13" text-anchor="middle">${+x.toFixed(6)}</text>`);
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${w}" height="${h}" fill="none" stroke="#444"/>`);
  out.push(`<text x="${m.left + w / 2}" y="${height - 14}" font-size="14" text-anchor="middle">optimiser step</text>`);
  out.push(`<text transform="translate(20 ${m.top + h / 2}) rotate(-90)" font-size="14" text-anchor="middle">loss (MSE on masked patches)</text>`);
  if (title) out.push(`<text x="${m.left}" y="24" font-size="17" font-weight="bold">${escapeXml(title)}</text>`);
  if (subtitle) out.push(`<text x="${m.left}" y="46" font-size="13" fill="#555">${escapeXml(subtitle)}</text>`);
  const points = steps.map((s, i) => `${px(s).toFixed(1)},${py(loss[i]).toFixed(1)}`).join(' ');
  out.push(`<polyline points="${points}" fill="none" stroke="#1f77b4" stroke-width="2"/>`);
  out.push('</svg>');
  return out.join('\n');
}

/** Renders an SVG string to a PNG file. */
export async function writePng(svg, file) {
  await sharp(Buffer.from(svg)).png().toFile(file);
}
