import * as fs from 'node:fs';
import type { Server } from 'node:http';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Generator, initBackend } from '@residual/core';
import { saveSafetensors } from '@residual/core/node';
import { maskrcnnResnetFpn } from '@residual/mask-rcnn';
import { chromium, type Browser } from 'playwright-core';
import type {} from '../src/demo-state.js'; // window.residualDemo
import { detectSampleInNode, expectSameDetections, waitUntilSettled, type PlainDetections } from './page-helpers.js';
import { serveStatic } from './static-server.js';

// The built page (dist/, `node build.mjs`) in headless Chromium (Debian's `chromium`; CHROMIUM_PATH overrides),
// against the same library in Node on the same sample and seeded weights. Screenshots go to test-output/.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const root = path.join(__dirname, '..');
const output = path.join(root, 'test-output');
// Small enough for a few seconds per run: the 320×240 sample stays unscaled, 100 proposals per image.
const OPTIONS = { minSize: 240, maxSize: 320, rpnPostNmsTopNTest: 100, boxScoreThresh: 0.05 };
const QUERY = 'sample=shapes-1&weights=/test-output/weights.safetensors&min-size=240&max-size=320&rpn-post-nms-top-n-test=100&draw-threshold=0.45';

type PageDetections = PlainDetections & { backend: string };

describe('examples/web in headless Chromium', () => {
  let browser: Browser;
  let server: Server;
  let origin: string;
  let expected: PageDetections;

  beforeAll(async () => {
    if (!fs.existsSync(path.join(root, 'dist', 'model-worker.js'))) throw new Error('examples/web: build the page first (node build.mjs)');
    if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM_PATH`);
    await initBackend('wasm'); // the page runs wasm too (?backend=wasm)
    fs.mkdirSync(output, { recursive: true });
    // Seeded, untrained Mask R-CNN R18-FPN with 2 classes: known weights, generated here (123 MB, not committed).
    const model = maskrcnnResnetFpn('resnet18', { numClasses: 2, generator: new Generator(7), ...OPTIONS });
    const dict = model.stateDict();
    await saveSafetensors(path.join(output, 'weights.safetensors'), dict);
    tf.dispose([...dict.values()]);
    model.eval();
    expected = { backend: 'wasm', ...(await detectSampleInNode(model)) };
    model.dispose();
    ({ origin, server } = await serveStatic({ '/test-output/': output, '/': path.join(root, 'dist') }));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  }, 300000);

  afterAll(async () => {
    await browser?.close();
    server?.close();
  });

  it('detects on the sample in its Web Worker (wasm) as the library does in Node, and draws the result', async () => {
    const page = await browser.newPage();
    await page.goto(`${origin}/?backend=wasm&autorun=detect&${QUERY}`);
    expect(await waitUntilSettled(page)).toEqual({ state: 'done', error: undefined });
    const got = await page.evaluate((): PageDetections => {
      const last = window.residualDemo.last;
      if (!last) throw new Error('no detections');
      return { backend: last.backend, boxes: Array.from(last.boxes), scores: Array.from(last.scores), labels: Array.from(last.labels), masks: last.masks };
    });
    await page.screenshot({ path: path.join(output, 'detect-page.png'), fullPage: true });
    expect(got.backend).toBe('wasm');
    expect(got.scores.length).toBeGreaterThan(0);
    expectSameDetections(got, expected);
    expect(got.masks).toEqual(expected.masks);
    // The drawing: the canvas shows the sample with masks, boxes and tags over it.
    const changed = await page.evaluate(() => {
      const canvas = document.getElementById('detect-canvas') as HTMLCanvasElement;
      const drawn = canvas.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height);
      return { width: canvas.width, height: canvas.height, drawnPixels: drawn ? drawn.data.length / 4 : 0 };
    });
    expect(changed).toEqual({ width: 320, height: 240, drawnPixels: 320 * 240 });
    const rows = await page.locator('#detections tr').count();
    expect(rows - 1).toBe(Math.min(20, got.scores.filter((s) => s >= 0.45).length));
    await page.close();
  });

  it('shows original | masked | reconstruction | pasted in the MAE tab', async () => {
    const page = await browser.newPage();
    await page.goto(`${origin}/?backend=wasm&autorun=mae&mask-ratio=0.75&mask-seed=3`);
    expect(await waitUntilSettled(page)).toEqual({ state: 'done', error: undefined });
    const grid = await page.evaluate(() => window.residualDemo.lastMae);
    expect(grid).toEqual({ width: 4 * 64 + 3 * 2, height: 64, ms: expect.any(Number) });
    await page.screenshot({ path: path.join(output, 'mae-page.png'), fullPage: true });
    await page.close();
  });

  it('picks the first backend that starts in the order webgpu → webgl → wasm when none is asked', async () => {
    const page = await browser.newPage();
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => window.residualDemo?.backend !== undefined || window.residualDemo?.state === 'error', null, { timeout: 120000 });
    const backend = await page.evaluate(() => window.residualDemo.backend);
    expect(['webgpu', 'webgl', 'wasm']).toContain(backend);
    fs.writeFileSync(path.join(output, 'default-backend.txt'), `${backend}\n`);
    await page.close();
  });
});
