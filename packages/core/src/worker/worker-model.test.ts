import { MessageChannel, type MessagePort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { expectNoLeak, useBackend } from '@residual/test-utils';
import { ShapeError, ValueError } from '../errors.js';
import { fromPlainTensor, toPlainTensor } from './plain-tensor.js';
import { serveWorker } from './serve-worker.js';
import type { WorkerEndpoint } from './worker-endpoint.js';
import { transferables } from './worker-endpoint.js';
import { WorkerModel } from './worker-model.js';

/** A DOM-style view of a Node MessagePort (addEventListener + start only), as a browser Worker is. */
function domStyle(port: MessagePort): WorkerEndpoint {
  return {
    postMessage: (message, transfer) => port.postMessage(message, transfer),
    addEventListener: (type, listener) => port.addEventListener(type, listener as (e: Event) => void),
    removeEventListener: (type, listener) => port.removeEventListener(type, listener as (e: Event) => void),
    start: () => port.start(),
  };
}

describe('WorkerModel and serveWorker', () => {
  let channel: MessageChannel;
  const stops: Array<() => void> = [];

  beforeAll(async () => {
    await useBackend();
  });
  beforeEach(() => {
    channel = new MessageChannel();
  });
  afterEach(() => {
    stops.splice(0).forEach((stop) => stop());
    channel.port1.close();
    channel.port2.close();
  });

  it('answers a call with the handler result, typed arrays included', async () => {
    stops.push(serveWorker(channel.port2, { sum: (p) => ({ total: (p as Float32Array).reduce((a, b) => a + b, 0), echo: p }) }));
    const model = new WorkerModel(channel.port1);
    const result = await model.call<{ total: number; echo: Float32Array }>('sum', new Float32Array([1, 2, 3.5]));
    expect(result.total).toBe(6.5);
    expect(Array.from(result.echo)).toEqual([1, 2, 3.5]);
    expect(Object.prototype.toString.call(result.echo)).toBe('[object Float32Array]');
    model.close();
  });

  it('works over DOM-style endpoints (addEventListener), as a browser Worker and self are', async () => {
    stops.push(serveWorker(domStyle(channel.port2), { double: (p) => (p as number) * 2 }));
    const model = new WorkerModel(domStyle(channel.port1));
    await expect(model.call('double', 21)).resolves.toBe(42);
    model.close();
  });

  it('moves whole-buffer typed arrays (the sender keeps an empty one) and copies partial views', async () => {
    stops.push(serveWorker(channel.port2, { length: (p) => (p as { a: Float32Array; b: Uint8Array }).a.length + (p as { b: Uint8Array }).b.length }));
    const model = new WorkerModel(channel.port1);
    const a = new Float32Array(16);
    const b = new Uint8Array(new ArrayBuffer(32), 8, 4);
    await expect(model.call('length', { a, b })).resolves.toBe(20);
    expect(a.length).toBe(0);
    expect(b.length).toBe(4);
    const c = new Float32Array(3);
    await model.call('length', { a: c, b: new Uint8Array(1) }, { transfer: false });
    expect(c.length).toBe(3);
    model.close();
  });

  it('lists transferable buffers once, at any depth, and skips views on part of a buffer', () => {
    const whole = new Int32Array(4);
    const shared = new ArrayBuffer(8);
    const found = transferables({ x: [whole, { y: whole }], z: new Uint8Array(shared, 4), w: 'text' });
    expect(found).toEqual([whole.buffer]);
  });

  it("rejects with the worker's typed error, class and message kept", async () => {
    stops.push(serveWorker(channel.port2, {
      shape: () => { throw new ShapeError('predict: images must be [H,W,3], got [2,2]'); },
      other: async () => { throw new RangeError('too far'); },
    }));
    const model = new WorkerModel(channel.port1);
    const shape = model.call('shape');
    await expect(shape).rejects.toThrow(new ShapeError('predict: images must be [H,W,3], got [2,2]'));
    await expect(shape).rejects.toBeInstanceOf(ShapeError);
    await expect(model.call('other')).rejects.toBeInstanceOf(RangeError);
    model.close();
  });

  it('rejects a method the worker does not serve with a ValueError naming the methods', async () => {
    stops.push(serveWorker(channel.port2, { load: () => 1, detect: () => 2 }));
    const model = new WorkerModel(channel.port1);
    const call = model.call('train');
    await expect(call).rejects.toThrow('serveWorker: unknown method "train" (methods: load, detect)');
    await expect(call).rejects.toBeInstanceOf(ValueError);
    model.close();
  });

  it('forwards progress to onProgress before the answer', async () => {
    stops.push(serveWorker(channel.port2, {
      load: (_p, { progress }) => {
        progress({ loaded: 1, total: 2 });
        progress({ loaded: 2, total: 2 });
        return 'done';
      },
    }));
    const model = new WorkerModel(channel.port1);
    const seen: unknown[] = [];
    await expect(model.call('load', undefined, { onProgress: (p) => seen.push(p) })).resolves.toBe('done');
    expect(seen).toEqual([{ loaded: 1, total: 2 }, { loaded: 2, total: 2 }]);
    model.close();
  });

  it('keeps overlapping calls apart: each resolves with its own answer', async () => {
    stops.push(serveWorker(channel.port2, {
      slow: (p) => new Promise((resolve) => setTimeout(() => resolve(p), 30)),
      fast: (p) => p,
    }));
    const model = new WorkerModel(channel.port1);
    const [slow, fast] = await Promise.all([model.call('slow', 'a'), model.call('fast', 'b')]);
    expect([slow, fast]).toEqual(['a', 'b']);
    expect(model.pendingCalls).toBe(0);
    model.close();
  });

  it('rejects an aborted call with an AbortError and forgets it', async () => {
    stops.push(serveWorker(channel.port2, { slow: () => new Promise((resolve) => setTimeout(() => resolve(1), 50)) }));
    const model = new WorkerModel(channel.port1);
    const controller = new AbortController();
    const call = model.call('slow', undefined, { signal: controller.signal });
    controller.abort();
    await expect(call).rejects.toThrow('WorkerModel: call "slow" was aborted');
    await expect(call).rejects.toHaveProperty('name', 'AbortError');
    expect(model.pendingCalls).toBe(0);
    await expect(model.call('slow', undefined, { signal: controller.signal })).rejects.toHaveProperty('name', 'AbortError');
    model.close();
  });

  it('rejects pending calls on close', async () => {
    stops.push(serveWorker(channel.port2, { never: () => new Promise(() => undefined) }));
    const model = new WorkerModel(channel.port1);
    const call = model.call('never');
    model.close();
    await expect(call).rejects.toThrow('WorkerModel: closed before the worker answered');
  });
});

describe('toPlainTensor / fromPlainTensor', () => {
  beforeAll(async () => {
    await useBackend();
  });

  it('round-trips float32, int32 and bool tensors with shape and values', async () => {
    const tensors = [tf.tensor2d([[1.5, -2], [3, 4]]), tf.tensor1d([7, -9], 'int32'), tf.tensor1d([true, false, true], 'bool')];
    for (const t of tensors) {
      const plain = await toPlainTensor(t);
      expect(plain.shape).toEqual(t.shape);
      expect(plain.dtype).toBe(t.dtype);
      const back = fromPlainTensor(plain);
      expect(back.dtype).toBe(t.dtype);
      expect(back.shape).toEqual(t.shape);
      expect(Array.from(back.dataSync())).toEqual(Array.from(t.dataSync()));
      back.dispose();
    }
    tf.dispose(tensors);
  });

  it("owns its data: moving it leaves the tensor's values intact", async () => {
    const t = tf.tensor1d([1, 2, 3]);
    const plain = await toPlainTensor(t);
    structuredClone(plain, { transfer: [plain.data.buffer as ArrayBuffer] });
    expect(plain.data.length).toBe(0);
    expect(Array.from(t.dataSync())).toEqual([1, 2, 3]);
    t.dispose();
  });

  it('leaks nothing: fromPlainTensor returns one tensor, freed by its owner', async () => {
    const t = await expectNoLeak(() => fromPlainTensor({ shape: [2], dtype: 'float32', data: new Float32Array([1, 2]) }));
    expect(t.isDisposed).toBe(true); // expectNoLeak disposed the result: it was the only tensor made
  });

  it('rejects data that does not fill the shape', () => {
    expect(() => fromPlainTensor({ shape: [2, 3], dtype: 'float32', data: new Float32Array(5) })).toThrow(
      new ValueError('fromPlainTensor: shape [2,3] holds 6 values, got 5'),
    );
  });

  it('rejects dtypes that have no typed array here', async () => {
    const t = tf.tensor1d(['a'], 'string');
    await expect(toPlainTensor(t)).rejects.toThrow('toPlainTensor: dtype must be float32, int32 or bool, got string');
    t.dispose();
  });
});
