// The script each `residual detect --workers N` thread runs: it serves `load` (build the detector
// from the flags) and `detect` (one image file → plain detections) to the DetectPool.
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendName } from '@residual/core';
import { serveWorker } from '@residual/core/worker';
import type { GeneralizedRCNN } from '@residual/faster-rcnn';
import { readImage } from '@residual/data';
import { loadDetector, predictOne } from './detect-command.js';
import type { DetectWorkerInit, PlainDetection } from './detect-pool.js';

let model: GeneralizedRCNN | undefined;

async function load(payload: unknown): Promise<{ numClasses: number }> {
  const { flags, backend, wasmThreads } = payload as DetectWorkerInit;
  await initBackend(backend as BackendName | undefined, { wasmThreads });
  const loaded = await loadDetector(flags);
  model = loaded.model;
  return { numClasses: loaded.numClasses };
}

async function detect(payload: unknown): Promise<PlainDetection> {
  if (!model) throw new Error('detect worker: "detect" called before "load"');
  const image = await readImage(payload as string);
  let detection;
  try {
    detection = await predictOne(model, image);
  } finally {
    image.dispose();
  }
  try {
    const [boxes, scores, labels] = await Promise.all([detection.boxes.data(), detection.scores.data(), detection.labels.data()]);
    // Copies that own their buffers, so they can be transferred.
    return { boxes: Float32Array.from(boxes), scores: Float32Array.from(scores), labels: Int32Array.from(labels), masks: detection.masks };
  } finally {
    tf.dispose([detection.boxes, detection.scores, detection.labels]);
  }
}

if (parentPort) serveWorker(parentPort, { load, detect });
