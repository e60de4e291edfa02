import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { initBackend } from '@residual/core';

// Bundled browser apps import the backend packages they ship; initBackend must use those
// registrations rather than its computed import(), which a bundle cannot resolve.
describe('initBackend with a backend the app registered itself', () => {
  afterAll(async () => {
    tf.removeBackend('tensorflow');
    await initBackend('wasm');
  });

  it('selects it without importing its package', async () => {
    // tfjs-node is not installed here, so only the registration can make 'node' available.
    tf.registerBackend('tensorflow', () => new MathBackendCPU());
    await expect(initBackend('node')).resolves.toBe('node');
    expect(tf.getBackend()).toBe('tensorflow');
  });
});
