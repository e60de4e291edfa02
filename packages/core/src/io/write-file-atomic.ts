import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

/** Errors that only mean "this platform or filesystem cannot fsync a directory". */
const DIRECTORY_SYNC_UNSUPPORTED = new Set(['EISDIR', 'EINVAL', 'ENOTSUP', 'EPERM', 'EACCES', 'EBADF']);

async function syncDirectory(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (!(process.platform === 'win32' || (code !== undefined && DIRECTORY_SYNC_UNSUPPORTED.has(code)))) throw e;
  } finally {
    await handle?.close();
  }
}

/**
 * Replaces the file at `target` with `bytes` atomically (Node only): writes a temporary file in
 * the same directory, fsyncs it, renames it over `target`, then fsyncs the directory so the
 * rename itself survives a crash. Readers see the old file or the new one, never a mix. On any
 * failure the temporary file is removed, the old file is left as it was, and the error (Node's
 * own, e.g. ENOENT or EACCES) is rethrown. An existing target keeps its permission bits.
 */
export async function writeFileAtomic(target: string, bytes: Uint8Array): Promise<void> {
  const dir = path.dirname(path.resolve(target));
  // Unique per call without Math.random: pid plus 48 random bits from the OS.
  const temp = path.join(dir, `.${path.basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const mode = await fs.stat(target).then(
    (s) => s.mode & 0o7777,
    () => undefined,
  );
  let handle: fs.FileHandle | undefined;
  let renamed = false;
  try {
    handle = await fs.open(temp, 'wx');
    if (mode !== undefined) await handle.chmod(mode);
    await handle.writeFile(bytes);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(temp, target);
    renamed = true;
    await syncDirectory(dir);
  } catch (e) {
    await handle?.close().catch(() => undefined);
    if (!renamed) await fs.rm(temp, { force: true }).catch(() => undefined);
    throw e;
  }
}
