/**
 * Writes emscripten's pthread worker script to a real file and returns its path.
 *
 * tfjs-backend-wasm 4.22 ships the worker script only as a string (`wasmWorkerContents`) and, in
 * browsers, starts it from a `blob:` URL; Node's `worker_threads.Worker` accepts only file paths
 * (ERR_WORKER_PATH). The string comes from a template literal, so its `"\n"` escapes arrived as
 * real newlines: they are escaped back, as tfjs does before making its blob. The file is named by
 * the tfjs version and a hash of its contents, written once per machine (temp file + rename, so
 * concurrent processes never see a partial file) and reused afterwards.
 *
 * Node only: `fs`, `os`, `path` and `crypto` come from `process.getBuiltinModule` so that the
 * browser-safe main entry never imports a Node module.
 */
export function writePthreadWorkerFile(contents: string, version: string, dir?: string): string {
  const fs = process.getBuiltinModule('node:fs');
  const os = process.getBuiltinModule('node:os');
  const path = process.getBuiltinModule('node:path');
  const crypto = process.getBuiltinModule('node:crypto');
  const script = contents.replace(/\n/g, '\\n');
  const hash = crypto.createHash('sha256').update(script).digest('hex').slice(0, 16);
  const file = path.join(dir ?? os.tmpdir(), `residual-tfjs-wasm-${version}-${hash}.worker.js`);
  try {
    if (fs.readFileSync(file, 'utf8') === script) return file;
  } catch {
    // not written yet (or unreadable): write it below
  }
  const temp = `${file}.${process.pid}.${process.hrtime.bigint()}.tmp`;
  fs.writeFileSync(temp, script, { mode: 0o644 });
  fs.renameSync(temp, file);
  return file;
}
