import * as tf from '@tensorflow/tfjs-core';
import type { MaskRCNN } from '@residual/mask-rcnn';
import type { Page } from 'playwright-core';
import type {} from '../src/demo-state.js'; // window.residualDemo
import { rgbaToRgbFloat, sampleScene } from '../src/sample-scene.js';

/** Detections as numbers: the page's (window.residualDemo.last) or the library's in Node. */
export interface PlainDetections {
  boxes: number[];
  scores: number[];
  labels: number[];
  masks: Array<{ size: [number, number]; counts: string }>;
}

/** The library's detections in Node on the page's `shapes-1` sample (RLE masks), every tensor freed. */
export async function detectSampleInNode(model: MaskRCNN): Promise<PlainDetections> {
  const sample = sampleScene('shapes-1');
  const image = tf.tensor3d(rgbaToRgbFloat(sample), [sample.height, sample.width, 3]);
  const [d] = await model.predict([image], { maskFormat: 'rle' });
  const out = { boxes: Array.from(d.boxes.dataSync()), scores: Array.from(d.scores.dataSync()), labels: Array.from(d.labels.dataSync()), masks: d.masks };
  tf.dispose([image, d.boxes, d.scores, d.labels]);
  return out;
}

/** Waits until the page has finished its autorun (state done or error) and returns that state. */
export async function waitUntilSettled(page: Page): Promise<{ state: string; error?: string }> {
  await page.waitForFunction(() => ['done', 'error'].includes(window.residualDemo?.state), null, { timeout: 540000, polling: 250 });
  return page.evaluate(() => ({ state: window.residualDemo.state, error: window.residualDemo.error }));
}

/**
 * The page runs the backbone fused (Conv + BatchNorm folded, as `residual detect` does) and Node's
 * expected detections come from the plain library: equal to float rounding (scores 1e-5 relative,
 * boxes 1e-3 px), labels exactly.
 */
export function expectSameDetections(got: Omit<PlainDetections, 'masks'>, expected: Omit<PlainDetections, 'masks'>): void {
  expect(got.scores.length).toBe(expected.scores.length);
  expect(got.labels).toEqual(expected.labels);
  got.scores.forEach((s, i) => expect(Math.abs(s - expected.scores[i])).toBeLessThanOrEqual(1e-5 * Math.abs(expected.scores[i])));
  got.boxes.forEach((b, i) => expect(Math.abs(b - expected.boxes[i])).toBeLessThanOrEqual(1e-3));
}
