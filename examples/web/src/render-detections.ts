import { rleDecode } from '@residual/core';
import { detectionColor } from './detection-color.js';
import type { RgbaImage } from './sample-scene.js';

/** Detections as plain arrays, masks as COCO compressed RLE (what the worker reads back from predict). */
export interface PlainDetections {
  boxes: Float32Array;
  scores: Float32Array;
  labels: Int32Array;
  masks: Array<{ size: [number, number]; counts: string }>;
}

/**
 * The image with each detection scoring at least `threshold` drawn on it: its mask blended at 50% in
 * its colour, then (where OffscreenCanvas exists: browsers, workers) its box and a `label score` tag.
 * Lower scores are drawn first, so the best detection ends on top. Returns a new image.
 */
export function renderDetections(image: RgbaImage, detections: PlainDetections, threshold: number, name: (label: number) => string): RgbaImage {
  const { width, height } = image;
  const data = new Uint8ClampedArray(image.data);
  const shown = [...detections.scores.keys()].filter((k) => detections.scores[k] >= threshold).reverse();
  for (const k of shown) {
    const mask = rleDecode(detections.masks[k]);
    const [r, g, b] = detectionColor(k);
    for (let i = 0; i < width * height; i++) {
      if (!mask[i]) continue;
      data[4 * i] = (data[4 * i] + r) >> 1;
      data[4 * i + 1] = (data[4 * i + 1] + g) >> 1;
      data[4 * i + 2] = (data[4 * i + 2] + b) >> 1;
    }
  }
  if (typeof OffscreenCanvas === 'undefined') return { data, width, height };
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d');
  if (!ctx) return { data, width, height };
  ctx.putImageData(new ImageData(data, width, height), 0, 0);
  ctx.lineWidth = 2;
  ctx.font = '12px sans-serif';
  ctx.textBaseline = 'top';
  for (const k of shown) {
    const [x1, y1, x2, y2] = detections.boxes.subarray(4 * k, 4 * k + 4);
    const color = `rgb(${detectionColor(k).join(',')})`;
    ctx.strokeStyle = color;
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
    const tag = `${name(detections.labels[k])} ${detections.scores[k].toFixed(2)}`;
    const tagWidth = ctx.measureText(tag).width + 6;
    ctx.fillStyle = color;
    ctx.fillRect(x1, Math.max(0, y1 - 16), tagWidth, 16);
    ctx.fillStyle = '#fff';
    ctx.fillText(tag, x1 + 3, Math.max(0, y1 - 16) + 2);
  }
  return { data: ctx.getImageData(0, 0, width, height).data, width, height };
}
