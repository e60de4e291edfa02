import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import { rleDecode, type Rle } from '@residual/core';
import { writeFileAtomic } from '@residual/core/node';
import sharp from 'sharp';

/** Detections of one image read back to the CPU, as the drawing needs them. */
export interface DrawableDetections {
  /** [K·4] x1,y1,x2,y2 in image pixels. */
  boxes: ArrayLike<number>;
  scores: ArrayLike<number>;
  labels: ArrayLike<number>;
  /** One COCO RLE (`> 0.5` of the mask) per detection, for Mask R-CNN. */
  masks?: readonly Rle[];
}

// A qualitative palette (Tableau 10): label k gets colour k mod 10.
const PALETTE: ReadonlyArray<[number, number, number]> = [
  [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
  [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207],
];

/** The drawing colour of a label (stable across images and runs). */
export function labelColour(label: number): [number, number, number] {
  return PALETTE[label % PALETTE.length];
}

const MASK_ALPHA = 115; // ≈ 45 % opacity

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] as string);
}

/** Masks of the kept detections as one RGBA layer (later detections on top). */
function maskLayer(d: DrawableDetections, keep: readonly number[], height: number, width: number): Buffer {
  const layer = Buffer.alloc(height * width * 4);
  for (const k of [...keep].reverse()) {
    const mask = rleDecode((d.masks as readonly Rle[])[k]); // row-major h·w
    const [r, g, b] = labelColour(d.labels[k]);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if (mask[y * width + x] === 0) continue;
        const o = (y * width + x) * 4;
        layer[o] = r;
        layer[o + 1] = g;
        layer[o + 2] = b;
        layer[o + 3] = MASK_ALPHA;
      }
    }
  }
  return layer;
}

/** Boxes and `name score` tags of the kept detections as an SVG the size of the image. */
function boxLayer(d: DrawableDetections, keep: readonly number[], height: number, width: number, name: (label: number) => string, scale: number): Buffer {
  const font = Math.max(9, Math.round(Math.min(height, width) / 40));
  const items = keep.map((k) => {
    const [x1, y1, x2, y2] = [d.boxes[4 * k], d.boxes[4 * k + 1], d.boxes[4 * k + 2], d.boxes[4 * k + 3]].map((v) => v * scale);
    const [r, g, b] = labelColour(d.labels[k]);
    const text = escapeXml(`${name(d.labels[k])} ${d.scores[k].toFixed(2)}`);
    const ty = y1 >= font + 2 ? y1 - 3 : y1 + font + 1;
    return (
      `<rect x="${x1.toFixed(1)}" y="${y1.toFixed(1)}" width="${(x2 - x1).toFixed(1)}" height="${(y2 - y1).toFixed(1)}" ` +
      `fill="none" stroke="rgb(${r},${g},${b})" stroke-width="2"/>` +
      `<text x="${x1.toFixed(1)}" y="${ty.toFixed(1)}" font-family="sans-serif" font-size="${font}" fill="rgb(${r},${g},${b})" ` +
      `stroke="black" stroke-width="0.4">${text}</text>`
    );
  });
  return Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${items.join('')}</svg>`);
}

/**
 * Writes `image` annotated with its detections of score ≥ `threshold` to `out` (PNG, the image's
 * size and orientation as `readImage` decodes it): coloured semi-transparent masks, then boxes with
 * `name score` tags, composed by sharp from a raw RGBA layer and an SVG overlay. Creates the folder.
 * `scale` (default 1) enlarges small images (nearest neighbour) so the tags stay legible.
 */
export async function drawDetections(
  image: string,
  d: DrawableDetections,
  out: string,
  { threshold, name, scale = 1 }: { threshold: number; name: (label: number) => string; scale?: number },
): Promise<void> {
  const decoded = sharp(image).rotate().removeAlpha();
  const { width, height } = await sharp(await decoded.clone().png().toBuffer()).metadata();
  const [w, h] = [width as number, height as number];
  const [sw, sh] = [Math.round(w * scale), Math.round(h * scale)];
  const base = sharp(await decoded.resize(sw, sh, { kernel: 'nearest' }).png().toBuffer());
  const keep = Array.from({ length: d.scores.length }, (_, k) => k).filter((k) => d.scores[k] >= threshold);
  const layers: sharp.OverlayOptions[] = [];
  if (d.masks && keep.length > 0) {
    const masks = await sharp(maskLayer(d, keep, h, w), { raw: { width: w, height: h, channels: 4 } }).resize(sw, sh, { kernel: 'nearest' }).png().toBuffer();
    layers.push({ input: masks });
  }
  if (keep.length > 0) layers.push({ input: boxLayer(d, keep, sh, sw, name, scale) });
  // composite runs last in a sharp pipeline and leaves an alpha channel: drop it in a second pass (RGB PNG).
  const png = await sharp(await base.composite(layers).png().toBuffer()).removeAlpha().png().toBuffer();
  await mkdir(path.dirname(out), { recursive: true });
  await writeFileAtomic(out, png);
}
