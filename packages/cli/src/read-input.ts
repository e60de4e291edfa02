import { readFile } from 'node:fs/promises';
import { ValueError } from '@residual/core';

/**
 * Reads a file named on the command line; a missing or unreadable file is a ValueError saying
 * which argument it was (`what`, e.g. `--ann`) and why, instead of Node's bare ENOENT.
 */
export async function readInput(file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (code ?? String(cause));
    throw new ValueError(`cannot read ${what} ${file}: ${why}`, { cause });
  }
}

/** Reads and parses a JSON file named on the command line; bad JSON is a ValueError naming the file. */
export async function readJsonInput(file: string, what: string): Promise<unknown> {
  const text = (await readInput(file, what)).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ValueError(`${what} ${file} is not valid JSON (${(e as Error).message})`);
  }
}
