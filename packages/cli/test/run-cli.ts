import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { run } from '../src/run.js';

/** What one in-process `residual` run printed and returned. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `residual ...argv` in-process with collecting streams (not TTYs unless `tty`). */
export async function runCli(argv: string[], options: { env?: Record<string, string>; tty?: boolean } = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  let clock = 0;
  const code = await run(argv, {
    stdout: { write: (s: string) => (stdout += s), isTTY: options.tty === true },
    stderr: { write: (s: string) => (stderr += s) },
    env: options.env ?? {},
    now: () => (clock += 500),
  });
  return { code, stdout, stderr };
}

/** Absolute path of a committed fixture of this package. */
export function fixture(...parts: string[]): string {
  return path.join(__dirname, 'fixtures', ...parts);
}

/** A fresh temporary directory (removed by the OS; tests write only small files). */
export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'residual-cli-'));
}
