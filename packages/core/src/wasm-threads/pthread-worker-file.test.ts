import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writePthreadWorkerFile } from './pthread-worker-file';

describe('writePthreadWorkerFile', () => {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'residual-worker-file-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the script with its newlines escaped back into "\\n", named by version and content', () => {
    const file = writePthreadWorkerFile('err("a\nb");', '4.22.0', dir);
    expect(path.basename(file)).toMatch(/^residual-tfjs-wasm-4\.22\.0-[0-9a-f]{16}\.worker\.js$/);
    expect(readFileSync(file, 'utf8')).toBe('err("a\\nb");');
    expect(readdirSync(dir)).toEqual([path.basename(file)]); // no temporary left behind
  });

  it('reuses an identical file and gives different contents a different file', () => {
    const first = writePthreadWorkerFile('a();', '4.22.0', dir);
    const mtime = statSync(first).mtimeMs;
    expect(writePthreadWorkerFile('a();', '4.22.0', dir)).toBe(first);
    expect(statSync(first).mtimeMs).toBe(mtime);
    expect(writePthreadWorkerFile('b();', '4.22.0', dir)).not.toBe(first);
  });

  it('throws when the folder cannot be written (the caller falls back to one thread)', () => {
    expect(() => writePthreadWorkerFile('a();', '4.22.0', path.join(dir, 'missing'))).toThrow(/ENOENT/);
  });
});
