import * as tf from '@tensorflow/tfjs-core';
import { initBackend, ValueError } from '@residual/core';

describe('initBackend', () => {
  const saved = process.env.RESIDUAL_BACKEND;
  afterEach(() => {
    if (saved === undefined) delete process.env.RESIDUAL_BACKEND;
    else process.env.RESIDUAL_BACKEND = saved;
  });

  it('falls back past tfjs-node (not installed here) to wasm', async () => {
    delete process.env.RESIDUAL_BACKEND;
    await expect(initBackend()).resolves.toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
  });

  it('honours RESIDUAL_BACKEND', async () => {
    process.env.RESIDUAL_BACKEND = 'cpu';
    await expect(initBackend()).resolves.toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });

  it('fails clearly when a forced backend cannot load', async () => {
    await expect(initBackend('node')).rejects.toThrow(
      /^initBackend: backend "node" is not available: node: @tensorflow\/tfjs-node could not be loaded/,
    );
  });

  it('rejects an unknown RESIDUAL_BACKEND value', async () => {
    process.env.RESIDUAL_BACKEND = 'gpu';
    await expect(initBackend()).rejects.toThrow(ValueError);
    await expect(initBackend()).rejects.toThrow(
      'RESIDUAL_BACKEND: unknown backend "gpu", expected one of node, wasm, cpu, webgpu, webgl',
    );
  });
});
