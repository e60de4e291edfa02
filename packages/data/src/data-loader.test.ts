import * as tf from '@tensorflow/tfjs-core';
import { Generator, ValueError } from '@residual/core';
import { useBackend } from '@residual/test-utils';
import { DataLoader, type IndexedDataset } from './data-loader.js';

beforeAll(async () => {
  await useBackend();
});

/** Item i is a scalar tensor holding i; `log` records the order of get() calls. */
function numbers(n: number, log: number[] = [], failAt = -1): IndexedDataset<tf.Scalar> {
  return {
    length: n,
    async get(i: number) {
      log.push(i);
      await new Promise((r) => setImmediate(r));
      if (i === failAt) throw new Error(`item ${i} is broken`);
      return tf.scalar(i);
    },
  };
}

async function epoch(loader: DataLoader<tf.Scalar>): Promise<number[][]> {
  const out: number[][] = [];
  for await (const batch of loader) {
    out.push(batch.map((t) => t.dataSync()[0]));
    tf.dispose(batch);
  }
  return out;
}

describe('DataLoader', () => {
  it('batches in order without shuffling, keeping a short last batch', async () => {
    const loader = new DataLoader(numbers(7), { batchSize: 3 });
    expect(loader.length).toBe(3);
    expect(await epoch(loader)).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
  });

  it('drops the short last batch with dropLast', async () => {
    const loader = new DataLoader(numbers(7), { batchSize: 3, dropLast: true });
    expect(loader.length).toBe(2);
    expect(await epoch(loader)).toEqual([[0, 1, 2], [3, 4, 5]]);
  });

  it('shuffles with generator.randperm, a new order each epoch, the same for the same seed', async () => {
    const ref = new Generator(5);
    const expected = [0, 1].map(() => Array.from(ref.randperm(6)));
    const loader = new DataLoader(numbers(6), { batchSize: 2, shuffle: true, generator: new Generator(5) });
    const e1 = (await epoch(loader)).flat();
    const e2 = (await epoch(loader)).flat();
    expect([e1, e2]).toEqual(expected);
    expect(e1).not.toEqual(e2);
    expect([...e1].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    const again = new DataLoader(numbers(6), { batchSize: 2, shuffle: true, generator: new Generator(5) });
    expect((await epoch(again)).flat()).toEqual(e1);
  });

  it('loads the next batch while the consumer works on the current one', async () => {
    const log: number[] = [];
    const it = new DataLoader(numbers(6, log), { batchSize: 2 })[Symbol.asyncIterator]();
    const first = await it.next();
    await new Promise((r) => setTimeout(r, 10)); // the consumer is busy
    expect(log).toEqual([0, 1, 2, 3]);
    tf.dispose(first.value);
    await it.return?.();
  });

  it('loads only on demand with prefetch 0', async () => {
    const log: number[] = [];
    const it = new DataLoader(numbers(6, log), { batchSize: 2, prefetch: 0 })[Symbol.asyncIterator]();
    tf.dispose((await it.next()).value);
    await new Promise((r) => setTimeout(r, 10));
    expect(log).toEqual([0, 1]);
    await it.return?.();
  });

  it('disposes prefetched batches when the consumer breaks early', async () => {
    const before = tf.memory().numTensors;
    const loader = new DataLoader(numbers(10), { batchSize: 2, prefetch: 2 });
    for await (const batch of loader) {
      tf.dispose(batch);
      break;
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects with the item error and leaks none of the batch', async () => {
    const before = tf.memory().numTensors;
    const loader = new DataLoader(numbers(6, [], 3), { batchSize: 2 });
    await expect(epoch(loader)).rejects.toThrow(new Error('item 3 is broken'));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('applies collate to the items of each batch', async () => {
    const loader = new DataLoader(numbers(4), { batchSize: 2, collate: (items) => tf.stack(items) });
    const sums: number[] = [];
    for await (const batch of loader) {
      sums.push(tf.sum(batch).dataSync()[0]);
      tf.dispose(batch);
    }
    expect(sums).toEqual([1, 5]);
  });

  it('rejects a bad batch size or prefetch', () => {
    expect(() => new DataLoader(numbers(2), { batchSize: 0 })).toThrow(new ValueError('DataLoader: batchSize must be a positive integer, got 0'));
    expect(() => new DataLoader(numbers(2), { prefetch: -1 })).toThrow(new ValueError('DataLoader: prefetch must be a non-negative integer, got -1'));
  });
});
