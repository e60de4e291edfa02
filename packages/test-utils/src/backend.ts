import { initBackend, type BackendName } from '@residual/core';

/**
 * Selects the backend for a test file in beforeAll: RESIDUAL_BACKEND if set, else wasm,
 * the embedded default that everything must run and train on.
 */
export async function useBackend(): Promise<BackendName> {
  const env = process.env.RESIDUAL_BACKEND as BackendName | undefined;
  return initBackend(env ?? 'wasm');
}
