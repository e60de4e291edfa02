import * as path from 'node:path';
import { bboxToRle } from '@residual/core';
import sharp from 'sharp';
import { drawDetections } from '../src/draw-detections.js';
import { tempDir } from './run-cli.js';

const dir = tempDir();
const [W, H] = [20, 10];

async function pixel(file: string, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  const o = (y * info.width + x) * info.channels;
  return Array.from(data.subarray(o, o + 3));
}

describe('drawDetections', () => {
  const image = path.join(dir, 'grey.png');
  // A mask over the top-left 10×3 (x 0–9, y 0–2) and its box drawn far from it, bottom right.
  const detections = { boxes: [14, 6, 19, 9], scores: [0.9], labels: [1], masks: [bboxToRle([0, 0, 10, 3], H, W)] };

  beforeAll(async () => {
    await sharp({ create: { width: W, height: H, channels: 3, background: { r: 128, g: 128, b: 128 } } }).png().toFile(image);
  });

  it('tints the mask where it is, not transposed', async () => {
    const out = path.join(dir, 'drawn.png');
    await drawDetections(image, detections, out, { threshold: 0.5, name: () => 'thing' });
    expect(await pixel(out, 8, 1)).not.toEqual([128, 128, 128]); // inside the mask
    expect(await pixel(out, 1, 8)).toEqual([128, 128, 128]); // where a transposed mask would be
  });

  it('scales the picture, masks and boxes together', async () => {
    const out = path.join(dir, 'drawn3.png');
    await drawDetections(image, detections, out, { threshold: 0.5, name: () => 'thing', scale: 3 });
    const meta = await sharp(out).metadata();
    expect([meta.width, meta.height]).toEqual([3 * W, 3 * H]);
    expect(await pixel(out, 3 * 8, 3 * 1)).not.toEqual([128, 128, 128]);
    expect(await pixel(out, 3 * 1, 3 * 8)).toEqual([128, 128, 128]);
  });

  it('draws nothing below the threshold', async () => {
    const out = path.join(dir, 'none.png');
    await drawDetections(image, detections, out, { threshold: 0.95, name: () => 'thing' });
    expect(await pixel(out, 8, 1)).toEqual([128, 128, 128]);
  });
});
