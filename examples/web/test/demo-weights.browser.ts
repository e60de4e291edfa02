import * as fs from 'node:fs';
import type { Server } from 'node:http';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Generator, initBackend } from '@residual/core';
import { saveSafetensors } from '@residual/core/node';
import { maskrcnnFromConfig, type MaskRCNNConfig } from '@residual/mask-rcnn';
import { chromium, type Browser } from 'playwright-core';
import type {} from '../src/demo-state.js'; // window.residualDemo
import { detectSampleInNode, expectSameDetections, waitUntilSettled, type PlainDetections } from './page-helpers.js';
import { serveStatic } from './static-server.js';

// Weights as `residual demo` writes them (architecture, image size and category names in the metadata),
// seeded and untrained, in the built page (dist/) in headless Chromium against the library in Node.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const root = path.join(__dirname, '..');
const output = path.join(root, 'test-output');
// The demo's architecture (packages/cli's DEMO_DETECTOR) at 128 px.
const CONFIG: MaskRCNNConfig = {
  backbone: 'resnet18',
  returnedLayers: [1, 2, 3],
  fpnChannels: 64,
  anchorSizes: [16, 32, 64, 128],
  aspectRatios: [0.5, 1, 2],
  representationSize: 256,
  maskHeadLayers: [64, 64],
  rpnBatchSizePerImage: 64,
  boxBatchSizePerImage: 64,
  rpnPreNmsTopNTrain: 600,
  rpnPostNmsTopNTrain: 300,
  rpnPreNmsTopNTest: 300,
  rpnPostNmsTopNTest: 100,
  minSize: 128,
  maxSize: 128,
};
const CATEGORIES = [{ id: 1, name: 'circle' }, { id: 2, name: 'square' }, { id: 3, name: 'triangle' }, { id: 4, name: 'star' }];

describe('examples/web with the demo\'s weights', () => {
  let browser: Browser;
  let server: Server;
  let origin: string;
  let expected: PlainDetections;

  beforeAll(async () => {
    if (!fs.existsSync(path.join(root, 'dist', 'model-worker.js'))) throw new Error('examples/web: build the page first (node build.mjs)');
    if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM_PATH`);
    await initBackend('wasm');
    fs.mkdirSync(output, { recursive: true });
    const model = maskrcnnFromConfig(CONFIG, { numClasses: 5, generator: new Generator(3) });
    const dict = model.stateDict();
    const metadata = { format: 'pt', 'residual.demo': JSON.stringify(CONFIG), 'residual.categories': JSON.stringify(CATEGORIES) };
    await saveSafetensors(path.join(output, 'demo-weights.safetensors'), dict, { metadata });
    tf.dispose([...dict.values()]);
    model.eval();
    expected = await detectSampleInNode(model);
    model.dispose();
    ({ origin, server } = await serveStatic({ '/test-output/': output, '/': path.join(root, 'dist') }));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  }, 300000);

  afterAll(async () => {
    await browser?.close();
    server?.close();
  });

  it('builds the model the file describes, at its own image size, and detects as the library does in Node', async () => {
    const page = await browser.newPage();
    await page.goto(`${origin}/?backend=wasm&autorun=detect&sample=shapes-1&weights=/test-output/demo-weights.safetensors&draw-threshold=0`);
    expect(await waitUntilSettled(page)).toEqual({ state: 'done', error: undefined });
    const got = await page.evaluate(() => {
      const last = window.residualDemo.last;
      if (!last) throw new Error('no detections');
      return { boxes: Array.from(last.boxes), scores: Array.from(last.scores), labels: Array.from(last.labels) };
    });
    await page.screenshot({ path: path.join(output, 'demo-weights-page.png'), fullPage: true });
    expect(got.labels.length).toBeGreaterThan(0);
    expectSameDetections(got, expected);
    await page.close();
  });
});
