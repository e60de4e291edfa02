import * as tf from '@tensorflow/tfjs-core';
import { ValueError, defaultGenerator, type Generator } from '@residual/core';

/** What a {@link DataLoader} reads: a length and an (async or sync) indexed getter. */
export interface IndexedDataset<T> {
  readonly length: number;
  get(index: number): Promise<T> | T;
}

/** Options of {@link DataLoader}. */
export interface DataLoaderOptions<T, B> {
  /** Items per batch (default 1). */
  batchSize?: number;
  /** Visit items in a new random order each epoch (default false). */
  shuffle?: boolean;
  /** Source of the shuffling permutations (default: core's `defaultGenerator()`, as torch). */
  generator?: Generator;
  /** Drop the last batch when it is smaller than `batchSize` (default false). */
  dropLast?: boolean;
  /** Turns the list of items of a batch into the batch (default: the list itself, as torchvision's detection `collate_fn`). */
  collate?: (items: T[]) => B;
  /** Batches loaded ahead while the consumer works on the current one (default 1; 0 loads on demand). */
  prefetch?: number;
}

/**
 * Batches an indexed data set as an async iterable (`for await (const batch of loader)`).
 * Each iteration is one epoch; with `shuffle` each epoch draws `generator.randperm(length)`, so a
 * seeded generator gives the same epoch orders on every run. Items of a batch are loaded
 * concurrently, and the next `prefetch` batches load while the consumer works.
 * Ownership: every tensor of a yielded batch belongs to the consumer. When iteration stops early
 * (`break`, `return`, a thrown error), batches already prefetched are disposed (any tensor found in
 * their arrays, plain objects and Maps), and so are the loaded items of a batch whose load failed.
 */
export class DataLoader<T, B = T[]> implements AsyncIterable<B> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly prefetch: number;
  private readonly generator: Generator;
  private readonly collate: (items: T[]) => B;

  constructor(
    readonly dataset: IndexedDataset<T>,
    options: DataLoaderOptions<T, B> = {},
  ) {
    const { batchSize = 1, shuffle = false, dropLast = false, prefetch = 1 } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new ValueError(`DataLoader: batchSize must be a positive integer, got ${batchSize}`);
    }
    if (!Number.isInteger(prefetch) || prefetch < 0) {
      throw new ValueError(`DataLoader: prefetch must be a non-negative integer, got ${prefetch}`);
    }
    this.batchSize = batchSize;
    this.shuffle = shuffle;
    this.dropLast = dropLast;
    this.prefetch = prefetch;
    this.generator = options.generator ?? defaultGenerator();
    this.collate = options.collate ?? ((items: T[]) => items as unknown as B);
  }

  /** Number of batches per epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** Starts an epoch: draws its order now (when shuffling) and returns its batch iterator. */
  [Symbol.asyncIterator](): AsyncIterator<B> {
    const n = this.dataset.length;
    const order = this.shuffle ? this.generator.randperm(n) : Int32Array.from({ length: n }, (_, i) => i);
    const numBatches = this.length;
    const pending: Promise<B>[] = [];
    let started = 0;
    let closed = false;
    const startNext = (): void => {
      const b = started++;
      const indices = Array.from(order.subarray(b * this.batchSize, Math.min(n, (b + 1) * this.batchSize)));
      const p = this.loadBatch(indices);
      p.catch(() => undefined); // surfaced when consumed; avoids an unhandled rejection meanwhile
      pending.push(p);
    };
    const fill = (ahead: number): void => {
      while (!closed && pending.length < ahead && started < numBatches) startNext();
    };
    const close = async (): Promise<void> => {
      closed = true;
      const left = pending.splice(0);
      for (const r of await Promise.allSettled(left)) if (r.status === 'fulfilled') disposeDeep(r.value);
    };
    return {
      next: async (): Promise<IteratorResult<B>> => {
        fill(1);
        const p = pending.shift();
        if (p === undefined || closed) return { done: true, value: undefined };
        fill(this.prefetch); // the next batches load while the consumer works on this one
        try {
          return { done: false, value: await p };
        } catch (e) {
          await close();
          throw e;
        }
      },
      return: async (): Promise<IteratorResult<B>> => {
        await close();
        return { done: true, value: undefined };
      },
    };
  }

  private async loadBatch(indices: number[]): Promise<B> {
    const results = await Promise.allSettled(indices.map(async (i) => this.dataset.get(i)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    const items = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    if (failed) {
      disposeDeep(items);
      throw failed.reason;
    }
    return this.collate(items);
  }
}

/** Disposes every tensor reachable through arrays, plain objects and Maps. */
export function disposeDeep(value: unknown, seen: Set<unknown> = new Set()): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (value instanceof tf.Tensor) {
    value.dispose();
  } else if (value instanceof Map) {
    for (const v of value.values()) disposeDeep(v, seen);
  } else if (Array.isArray(value)) {
    for (const v of value) disposeDeep(v, seen);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) disposeDeep(v, seen);
  }
}
