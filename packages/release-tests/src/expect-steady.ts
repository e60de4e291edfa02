import { measureRepeatedCalls } from './steady-memory.js';

/** Calls per case after the warm-up: issue 10's "every public model call and training step, run 50 times". */
export const LEAK_CALLS = 50;

/**
 * Fails, naming the call, unless {@link LEAK_CALLS} calls of `fn` (after a warm-up call) leave
 * tf.memory()'s tensor count and bytes where they were. `fn`'s outputs are disposed after each call.
 */
export async function expectSteady(name: string, fn: () => unknown): Promise<void> {
  const { before, after } = await measureRepeatedCalls(LEAK_CALLS, fn);
  expect({ name, ...after }).toEqual({ name, ...before });
}
