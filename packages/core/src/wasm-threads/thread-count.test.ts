import { ValueError } from '../errors';
import { resolveWasmThreads } from './thread-count';

describe('resolveWasmThreads', () => {
  it('takes the option first, then RESIDUAL_WASM_THREADS, then the core count', () => {
    expect(resolveWasmThreads(3, '5', 16)).toEqual({ count: 3, source: 'option' });
    expect(resolveWasmThreads(undefined, ' 5 ', 16)).toEqual({ count: 5, source: 'env' });
    expect(resolveWasmThreads(undefined, undefined, 16)).toEqual({ count: 16, source: 'default' });
    expect(resolveWasmThreads(undefined, '', 2)).toEqual({ count: 2, source: 'default' });
  });

  it('never defaults below one thread', () => {
    expect(resolveWasmThreads(undefined, undefined, 0)).toEqual({ count: 1, source: 'default' });
  });

  it('rejects an option that is not a positive integer, naming it', () => {
    expect(() => resolveWasmThreads(0, undefined, 2)).toThrow(ValueError);
    expect(() => resolveWasmThreads(0, undefined, 2)).toThrow(
      'initBackend: options.wasmThreads must be a positive integer, got 0',
    );
    expect(() => resolveWasmThreads(1.5, undefined, 2)).toThrow(
      'initBackend: options.wasmThreads must be a positive integer, got 1.5',
    );
  });

  it('rejects an environment value that is not a positive integer, naming the variable', () => {
    expect(() => resolveWasmThreads(undefined, 'four', 2)).toThrow(ValueError);
    expect(() => resolveWasmThreads(undefined, 'four', 2)).toThrow(
      'RESIDUAL_WASM_THREADS: expected a positive integer, got "four"',
    );
    expect(() => resolveWasmThreads(undefined, '0', 2)).toThrow(
      'RESIDUAL_WASM_THREADS: expected a positive integer, got "0"',
    );
    expect(() => resolveWasmThreads(undefined, '2.5', 2)).toThrow(
      'RESIDUAL_WASM_THREADS: expected a positive integer, got "2.5"',
    );
  });
});
