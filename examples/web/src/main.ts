// The page: picks an image and weights, and shows what the model worker returns. Nothing heavy runs
// here; every tensor lives in the worker (src/model-worker.ts).
import { WorkerModel, type WorkerEndpoint } from '@residual/core/worker';
import type { DemoState } from './demo-state.js';
import type { DetectorOptions, DetectResponse, LoadedDetector, ReconstructResponse } from './protocol.js';
import { detectionColor } from './detection-color.js';
import { sampleScene, type RgbaImage } from './sample-scene.js';

const demo: DemoState = { state: 'starting' };
window.residualDemo = demo;
const params = new URLSearchParams(location.search);
const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

const worker = new Worker(new URL('./model-worker.js', import.meta.url), { type: 'module' });
const model = new WorkerModel(worker as unknown as WorkerEndpoint);

let image: RgbaImage = sampleScene(params.get('sample') ?? 'shapes-1');
let weights: { bytes: Uint8Array; name: string } | undefined;
let loadedKey = '';
let maeLoaded: string | undefined;

function setState(state: DemoState['state'], error?: string): void {
  demo.state = state;
  demo.error = error;
  document.body.dataset.state = state;
}

function show(canvasId: string, picture: RgbaImage): void {
  const canvas = $<HTMLCanvasElement>(canvasId);
  canvas.width = picture.width;
  canvas.height = picture.height;
  canvas.getContext('2d')?.putImageData(new ImageData(new Uint8ClampedArray(picture.data), picture.width, picture.height), 0, 0);
}

/** Reads a stream to bytes, reporting the fraction read (total unknown: indeterminate bar). */
async function readWithProgress(body: ReadableStream<Uint8Array>, total: number, bar: HTMLProgressElement): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    if (total > 0) bar.value = loaded / total;
    else bar.removeAttribute('value');
  }
  const bytes = new Uint8Array(loaded);
  let offset = 0;
  for (const c of chunks) bytes.set(c, (offset += c.length) - c.length);
  bar.value = 1;
  return bytes;
}

async function fetchWeights(url: string): Promise<void> {
  $('detect-status').textContent = `Downloading ${url}…`;
  const response = await fetch(url);
  if (!response.ok || !response.body) throw new Error(`cannot fetch ${url}: HTTP ${response.status}`);
  const bytes = await readWithProgress(response.body, Number(response.headers.get('content-length') ?? 0), $('detect-progress'));
  weights = { bytes, name: url };
}

async function imageFromBlob(blob: Blob): Promise<RgbaImage> {
  const bitmap = await createImageBitmap(blob);
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2D canvas');
  ctx.drawImage(bitmap, 0, 0);
  return { data: ctx.getImageData(0, 0, bitmap.width, bitmap.height).data, width: bitmap.width, height: bitmap.height };
}

function detectorOptions(): DetectorOptions {
  const num = (id: string): number => Number($<HTMLInputElement>(id).value);
  return { minSize: num('min-size'), maxSize: num('max-size'), rpnPostNmsTopNTest: Number(params.get('rpn-post-nms-top-n-test') ?? 1000), boxScoreThresh: 0.05 };
}

function listDetections(result: DetectResponse, threshold: number): void {
  const rows = [...result.scores.keys()].filter((k) => result.scores[k] >= threshold).slice(0, 20);
  $('detections').innerHTML = `<tr><th></th><th>label</th><th>score</th><th>box (x1, y1, x2, y2)</th></tr>${rows
    .map((k) => `<tr><td><span class="swatch" style="background:rgb(${detectionColor(k).join(',')})"></span></td><td>${result.labels[k]}</td><td>${result.scores[k].toFixed(3)}</td><td>${[...result.boxes.subarray(4 * k, 4 * k + 4)].map((v) => v.toFixed(1)).join(', ')}</td></tr>`)
    .join('')}`;
}

async function runDetect(): Promise<void> {
  const status = $('detect-status');
  try {
    if (!weights) throw new Error('choose a weights file first');
    const options = detectorOptions();
    const key = `${weights.name}:${JSON.stringify(options)}`;
    if (key !== loadedKey) {
      setState('loading');
      // A copy moves to the worker, so the page can rebuild the model when the options change.
      const info = await model.call<LoadedDetector>('loadDetector', { bytes: weights.bytes.slice(), options }, {
        onProgress: (p) => (status.textContent = `${(p as { stage: string }).stage}…`),
      });
      loadedKey = key;
      const sizes = info.imageSize ? ` (its own image size ${info.imageSize.join('/')}, from the file)` : '';
      status.textContent = `Mask R-CNN ${info.backbone}-FPN, ${info.numClasses} classes loaded${sizes}.`;
    }
    setState('running');
    status.textContent = 'Detecting…';
    const threshold = Number($<HTMLInputElement>('draw-threshold').value);
    const result = await model.call<DetectResponse>('detect', { image, drawThreshold: threshold }, { transfer: false });
    show('detect-canvas', result.rendered);
    listDetections(result, threshold);
    const { rendered: _drawn, ...plain } = result;
    demo.last = plain;
    status.textContent = `${result.scores.length} detections (${result.scores.filter((s) => s >= threshold).length} drawn) in ${result.ms.toFixed(0)} ms on ${result.backend}.`;
    setState('done');
  } catch (e) {
    status.textContent = `Error: ${(e as Error).message}`;
    setState('error', (e as Error).message);
  }
}

async function runMae(): Promise<void> {
  const status = $('mae-status');
  try {
    const file = $<HTMLInputElement>('mae-file').files?.[0];
    const name = file?.name ?? 'tiny';
    if (maeLoaded !== name) {
      setState('loading');
      status.textContent = file ? `Reading ${file.name}…` : 'Building the tiny seeded MAE…';
      const bytes = file?.stream() ? await readWithProgress(file.stream(), file.size, $('mae-progress')) : undefined;
      const info = await model.call<{ imgSize: number; pretrained: boolean }>('loadMae', { bytes });
      maeLoaded = name;
      status.textContent = `MAE at ${info.imgSize}×${info.imgSize}${info.pretrained ? '' : ' (untrained: expect noise)'}.`;
    }
    setState('running');
    const request = { image, maskRatio: Number($<HTMLInputElement>('mask-ratio').value), seed: Number($<HTMLInputElement>('mask-seed').value) };
    const result = await model.call<ReconstructResponse>('reconstruct', request, { transfer: false });
    show('mae-canvas', result.grid);
    demo.lastMae = { width: result.grid.width, height: result.grid.height, ms: result.ms };
    status.textContent = `Reconstructed in ${result.ms.toFixed(0)} ms.`;
    setState('done');
  } catch (e) {
    status.textContent = `Error: ${(e as Error).message}`;
    setState('error', (e as Error).message);
  }
}

function selectTab(name: 'detect' | 'mae'): void {
  $('tab-detect').setAttribute('aria-selected', String(name === 'detect'));
  $('tab-mae').setAttribute('aria-selected', String(name === 'mae'));
  $('detect').hidden = name !== 'detect';
  $('mae').hidden = name !== 'mae';
}

async function setImage(next: RgbaImage): Promise<void> {
  image = next;
  show('detect-canvas', image);
}

function wire(): void {
  $('tab-detect').onclick = () => selectTab('detect');
  $('tab-mae').onclick = () => selectTab('mae');
  $<HTMLSelectElement>('sample').onchange = (e) => void setImage(sampleScene((e.target as HTMLSelectElement).value));
  $<HTMLInputElement>('image-file').onchange = async (e) => {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (file) await setImage(await imageFromBlob(file));
  };
  const drop = $('drop');
  drop.ondragover = (e) => (e.preventDefault(), drop.classList.add('over'));
  drop.ondragleave = () => drop.classList.remove('over');
  drop.ondrop = async (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const file = e.dataTransfer?.files[0];
    if (file) await setImage(await imageFromBlob(file));
  };
  $<HTMLInputElement>('weights-file').onchange = async (e) => {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (!file) return;
    $('detect-status').textContent = `Reading ${file.name}…`;
    weights = { bytes: await readWithProgress(file.stream(), file.size, $('detect-progress')), name: file.name };
    $('detect-status').textContent = `${file.name} read (${(file.size / 2 ** 20).toFixed(1)} MiB); press Detect.`;
  };
  $('run-detect').onclick = () => void runDetect();
  $('run-mae').onclick = () => void runMae();
}

async function start(): Promise<void> {
  wire();
  // URL parameters preset the form: sample, min-size, max-size, draw-threshold, mask-ratio, mask-seed.
  for (const id of ['sample', 'min-size', 'max-size', 'draw-threshold', 'mask-ratio', 'mask-seed']) {
    const value = params.get(id);
    if (value !== null) $<HTMLInputElement>(id).value = value;
  }
  await setImage(image);
  try {
    const backend = params.get('backend') ?? undefined;
    demo.backend = (await model.call<{ backend: string }>('init', { backend })).backend;
    $('backend').textContent = demo.backend;
    setState('idle');
    if (params.get('weights')) await fetchWeights(params.get('weights') as string);
    if (params.get('autorun') === 'detect') await runDetect();
    if (params.get('autorun') === 'mae') (selectTab('mae'), await runMae());
  } catch (e) {
    $('detect-status').textContent = `Error: ${(e as Error).message}`;
    setState('error', (e as Error).message);
  }
}

void start();
