import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { WorkerModel } from '@residual/core/worker';
import type { CompressedRle } from '@residual/mask-rcnn';
import type { DetectFlags } from './detect-command.js';

/** One image's detections as plain arrays (what crosses the worker boundary). */
export interface PlainDetection {
  /** [K·4] x1,y1,x2,y2 in input pixels. */
  boxes: Float32Array;
  /** [K], descending. */
  scores: Float32Array;
  /** [K] contiguous labels (0 = background). */
  labels: Int32Array;
  /** Mask R-CNN only: one COCO compressed RLE of `mask > 0.5` per detection. */
  masks?: CompressedRle[];
}

/** What each pool worker needs to build its detector: the flags and the backend (`--backend`, else core's order). */
export interface DetectWorkerInit {
  flags: DetectFlags;
  backend?: string;
  /** wasm threads of each worker (absent: core's default, `RESIDUAL_WASM_THREADS` or the cores). */
  wasmThreads?: number;
}

/**
 * Threads per worker so that N workers share the cores instead of each taking all of them;
 * `RESIDUAL_WASM_THREADS`, when set, is the user's choice and wins.
 */
export function threadsPerWorker(workers: number, env: Record<string, string | undefined> = process.env): number | undefined {
  if (env.RESIDUAL_WASM_THREADS !== undefined) return undefined;
  return Math.max(1, Math.floor(os.availableParallelism() / workers));
}

// The worker runs compiled JavaScript: dist/detect-worker.js beside this file's build. Under jest this
// file runs from src/, so it uses the package's own build (the test target depends on it).
function workerScript(): string {
  const dir = path.extname(__filename) === '.ts' ? path.join(__dirname, '..', 'dist') : __dirname;
  return path.join(dir, 'detect-worker.js');
}

interface PoolWorker {
  thread: Worker;
  model: WorkerModel;
}

/**
 * `residual detect --workers N`: N worker_threads, each with its own backend (`wasmThreads` threads) and
 * its own copy of the detector, taking images from one queue (data-parallel over images). `detect(file)`
 * resolves with that image's detections; calls may overlap, each worker handles one image at a time.
 * Results do not depend on which worker ran an image.
 */
export class DetectPool {
  private readonly idle: PoolWorker[];
  private readonly queue: Array<(worker: PoolWorker) => void> = [];

  private constructor(private readonly workers: PoolWorker[], readonly numClasses: number) {
    this.idle = [...workers];
  }

  /** Starts `size` workers and loads the detector in each (in parallel); nothing keeps running on a throw. */
  static async start(size: number, init: DetectWorkerInit): Promise<DetectPool> {
    const workers: PoolWorker[] = [];
    try {
      for (let i = 0; i < size; i++) {
        const thread = new Worker(workerScript());
        const model = new WorkerModel(thread);
        thread.once('exit', () => model.close()); // a worker that exits unasked fails its pending call
        workers.push({ thread, model });
      }
      const loaded = await Promise.all(workers.map((w) => w.model.call<{ numClasses: number }>('load', init)));
      return new DetectPool(workers, loaded[0].numClasses);
    } catch (e) {
      await Promise.all(workers.map((w) => (w.model.close(), w.thread.terminate())));
      throw e;
    }
  }

  /** Detections of the image at `file`, computed by the next free worker. */
  async detect(file: string): Promise<PlainDetection> {
    const worker = this.idle.pop() ?? (await new Promise<PoolWorker>((resolve) => this.queue.push(resolve)));
    try {
      return await worker.model.call<PlainDetection>('detect', file);
    } finally {
      const next = this.queue.shift();
      if (next) next(worker);
      else this.idle.push(worker);
    }
  }

  /** Stops every worker (pending calls reject). */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => (w.model.close(), w.thread.terminate())));
  }
}

/** Tensors (the caller owns them) of a {@link PlainDetection}: boxes [K,4], scores [K], labels int32 [K]. */
export function fromPlainDetection(plain: PlainDetection): { boxes: tf.Tensor2D; scores: tf.Tensor1D; labels: tf.Tensor1D; masks?: CompressedRle[] } {
  const k = plain.scores.length;
  const detection = {
    boxes: tf.tensor2d(plain.boxes, [k, 4]),
    scores: tf.tensor1d(plain.scores),
    labels: tf.tensor1d(plain.labels, 'int32'),
  };
  return plain.masks ? { ...detection, masks: plain.masks } : detection;
}

/**
 * Runs `start(items[i])` at most `lookahead` items ahead of `handle`, and calls `handle(result, i)`
 * in input order, one at a time. With lookahead 1 each item starts after the previous one is handled.
 * The first failure stops it (items already started finish, their results are dropped).
 */
export async function forEachInOrder<T, R>(
  items: readonly T[],
  start: (item: T) => Promise<R>,
  lookahead: number,
  handle: (result: R, index: number) => Promise<void>,
): Promise<void> {
  const started: Array<Promise<R>> = [];
  const launch = (k: number): void => {
    if (k >= items.length) return;
    started[k] = start(items[k]);
    started[k].catch(() => undefined); // awaited below in order; no unhandled rejection meanwhile
  };
  for (let k = 0; k < lookahead; k++) launch(k);
  for (let i = 0; i < items.length; i++) {
    const result = await started[i];
    await handle(result, i);
    launch(i + lookahead);
  }
}
