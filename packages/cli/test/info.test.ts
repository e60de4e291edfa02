import { useBackend } from '@residual/test-utils';
import { runCli } from './run-cli.js';

beforeAll(async () => {
  await useBackend();
});

describe('residual info', () => {
  it('reports the backend, the machine and the installed versions as JSON', async () => {
    const r = await runCli(['info', '--json', '--backend', 'wasm']);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const info = JSON.parse(r.stdout);
    expect(info.backend).toBe('wasm');
    expect(info.cpus).toBeGreaterThan(0);
    expect(info.versions['@residual/core']).toMatch(/^\d+\.\d+\.\d+/);
    expect(info.versions['@tensorflow/tfjs-core']).toBe('4.22.0');
    expect(info.versions['@tensorflow/tfjs-node']).toBe('not installed');
  });

  it('prints a readable summary and takes no positionals', async () => {
    const r = await runCli(['info']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^backend +\S+/);
    expect(r.stdout).toContain('@residual/mask-rcnn');
    expect((await runCli(['info', 'extra'])).code).toBe(2);
  });
});
