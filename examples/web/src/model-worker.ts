// The page's Web Worker: it owns the backend and the models, so the page never blocks. It imports the
// backends the page ships (bundles cannot follow core's computed import) and tells the wasm backend
// where its .wasm files are served: setWasmPaths must run before the first initBackend.
import '@tensorflow/tfjs-backend-webgpu';
import '@tensorflow/tfjs-backend-webgl';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { Conv2d, fuseForInference, Generator, initBackend, readSafetensors, type BackendName, type InferenceFusion } from '@residual/core';
import { serveWorker, type WorkerCallContext, type WorkerEndpoint } from '@residual/core/worker';
import { maeVitBasePatch16, maeVitLargePatch16, maeVitTestPatch8, loadMaePretrained, reconstruct, renderReconstructionGrid, type MaskedAutoencoderViT } from '@residual/mae';
import { inferArchitecture, maskrcnnFromConfig, maskrcnnResnetFpn, readDetectorMetadata, type MaskRCNN } from '@residual/mask-rcnn';
import type { DetectRequest, DetectResponse, InitRequest, LoadDetectorRequest, LoadedDetector, LoadMaeRequest, ReconstructRequest, ReconstructResponse } from './protocol.js';
import { renderDetections } from './render-detections.js';
import { rgbaToRgbFloat, type RgbaImage } from './sample-scene.js';

setWasmPaths(new URL('./wasm/', self.location.href).href);

const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];

let backend: BackendName | undefined;
let detector: MaskRCNN | undefined;
/** Category names of the loaded detector's labels 1..K, when its weights store them. */
let detectorNames: string[] | undefined;
let detectorFusion: InferenceFusion | undefined;
let mae: MaskedAutoencoderViT | undefined;

async function init(payload: unknown): Promise<{ backend: string }> {
  backend = await initBackend((payload as InitRequest).backend);
  return { backend };
}

async function loadDetector(payload: unknown, { progress }: WorkerCallContext): Promise<LoadedDetector> {
  const { bytes, options } = payload as LoadDetectorRequest;
  progress({ stage: 'reading weights' });
  const { tensors, metadata } = readSafetensors(bytes);
  try {
    // Weights that describe their model in their metadata (`residual demo`'s) build that model, at its own image size.
    const { config, categories } = readDetectorMetadata(metadata, 'loadDetector: the weights');
    const found = config ? { arch: 'maskrcnn', backbone: config.backbone, numClasses: tensors.get('roi_heads.box_predictor.cls_score.weight')?.shape[0] ?? 0 } : inferArchitecture(tensors);
    if (found.arch !== 'maskrcnn') throw new Error(`loadDetector: these weights are a ${found.arch}; the page runs Mask R-CNN`);
    progress({ stage: `building Mask R-CNN ${found.backbone}-FPN, ${found.numClasses} classes` });
    detectorFusion?.unfuse();
    detectorFusion = undefined;
    detector?.dispose();
    detector = undefined;
    detectorNames = undefined;
    const model = config
      ? maskrcnnFromConfig(config, { numClasses: found.numClasses, boxScoreThresh: options.boxScoreThresh })
      : maskrcnnResnetFpn(found.backbone, { ...options, numClasses: found.numClasses });
    try {
      model.loadStateDict(tensors);
      model.eval();
      detectorFusion = fuseBackbone(model);
    } catch (e) {
      model.dispose();
      throw e;
    }
    detector = model;
    detectorNames = categories?.map((c) => c.name);
    return { backbone: found.backbone, numClasses: found.numClasses, ...(config ? { imageSize: [config.minSize, config.maxSize] as [number, number] } : {}) };
  } finally {
    tf.dispose([...tensors.values()]);
  }
}

/**
 * Each Conv + FrozenBatchNorm + ReLU of the backbone runs as one fused conv (7–20 % less CPU on
 * ResNet-50, an extra copy of the folded weights). fuseForInference learns where a ReLU follows from
 * its first call, made here on a small zero image so that the first real image already runs fused.
 * Then each conv weight gets a fresh copy of its values: that frees the packed copies of the plain
 * filters that the wasm backend made during the trace and that the fused model never uses.
 */
function fuseBackbone(model: MaskRCNN): InferenceFusion {
  const fusion = fuseForInference(model.backbone);
  tf.tidy(() => {
    model.backbone.forward(tf.zeros([1, 64, 64, 3]));
  });
  for (const m of new Set(model.backbone.namedModules().values())) {
    if (!(m instanceof Conv2d)) continue;
    const copy = tf.add(m.weight, 0);
    m.weight.assign(copy);
    copy.dispose();
  }
  return fusion;
}

function imageTensor(image: RgbaImage): tf.Tensor3D {
  return tf.tensor3d(rgbaToRgbFloat(image), [image.height, image.width, 3]);
}

async function detect(payload: unknown): Promise<DetectResponse> {
  if (!detector) throw new Error('detect: load weights first');
  const { image, drawThreshold } = payload as DetectRequest;
  const start = performance.now();
  const input = imageTensor(image);
  let result;
  try {
    [result] = await detector.predict([input], { maskFormat: 'rle' });
  } finally {
    input.dispose();
  }
  try {
    const [boxes, scores, labels] = await Promise.all([result.boxes.data(), result.scores.data(), result.labels.data()]);
    const detections = { boxes: Float32Array.from(boxes), scores: Float32Array.from(scores), labels: Int32Array.from(labels), masks: result.masks };
    const ms = performance.now() - start;
    const rendered = renderDetections(image, detections, drawThreshold, (label) => detectorNames?.[label - 1] ?? `class ${label}`);
    return { ...detections, rendered, backend: backend ?? tf.getBackend(), ms };
  } finally {
    tf.dispose([result.boxes, result.scores, result.labels]);
  }
}

async function loadMae(payload: unknown): Promise<{ imgSize: number; patchSize: number; pretrained: boolean }> {
  const { bytes } = payload as LoadMaeRequest;
  mae?.dispose();
  mae = undefined;
  if (!bytes) {
    // No checkpoint: the tiny test configuration, seeded (its reconstructions are untrained noise).
    mae = maeVitTestPatch8({ imgSize: 64, generator: new Generator(0) });
    return { imgSize: 64, patchSize: 8, pretrained: false };
  }
  const { tensors } = readSafetensors(bytes);
  try {
    const width = tensors.get('patch_embed.proj.weight')?.shape[0];
    const model = width === 1024 ? maeVitLargePatch16() : width === 768 ? maeVitBasePatch16() : undefined;
    if (!model) throw new Error(`loadMae: expected an MAE ViT-B/16 or ViT-L/16 checkpoint (patch_embed.proj.weight [768|1024,3,16,16]), got width ${width}`);
    loadMaePretrained(model, tensors);
    model.eval();
    mae = model;
    return { imgSize: 224, patchSize: 16, pretrained: true };
  } finally {
    tf.dispose([...tensors.values()]);
  }
}

async function reconstructImage(payload: unknown): Promise<ReconstructResponse> {
  if (!mae) throw new Error('reconstruct: load an MAE first');
  const model = mae;
  const { image, maskRatio, seed } = payload as ReconstructRequest;
  const start = performance.now();
  const patches = model.numPatches;
  const size = Math.round(Math.sqrt(patches)) * model.patchSize;
  const random = new Generator(seed);
  const noise = tf.tensor2d(Float32Array.from({ length: patches }, () => random.random()), [1, patches]);
  const input = tf.tidy(() => {
    const resized = tf.image.resizeBilinear(tf.expandDims(imageTensor(image), 0) as tf.Tensor4D, [size, size], false, true);
    return tf.div(tf.sub(resized, IMAGENET_MEAN), IMAGENET_STD) as tf.Tensor4D; // [1, size, size, 3], ImageNet-normalised
  });
  try {
    const result = reconstruct(model, input, { maskRatio, noise });
    try {
      const rgb = renderReconstructionGrid(input, result, { mean: IMAGENET_MEAN, std: IMAGENET_STD });
      const data = new Uint8ClampedArray(rgb.width * rgb.height * 4);
      for (let i = 0; i < rgb.width * rgb.height; i++) data.set([rgb.data[3 * i], rgb.data[3 * i + 1], rgb.data[3 * i + 2], 255], 4 * i);
      return { grid: { data, width: rgb.width, height: rgb.height }, ms: performance.now() - start };
    } finally {
      tf.dispose([result.masked, result.reconstruction, result.pasted, result.mask]);
    }
  } finally {
    tf.dispose([input, noise]);
  }
}

serveWorker(self as unknown as WorkerEndpoint, { init, loadDetector, detect, loadMae, reconstruct: reconstructImage });
