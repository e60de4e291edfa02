import { createReadStream, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.wasm': 'application/wasm', // WebAssembly.instantiateStreaming needs it
  '.png': 'image/png',
};

/** A static server on 127.0.0.1 (random port) for `roots` (URL prefix → folder); resolves with its origin. */
export async function serveStatic(roots: Record<string, string>): Promise<{ origin: string; server: Server }> {
  const prefixes = Object.keys(roots).sort((a, b) => b.length - a.length);
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const prefix = prefixes.find((p) => url.pathname.startsWith(p));
    const rel = prefix === undefined ? '' : decodeURIComponent(url.pathname.slice(prefix.length)) || 'index.html';
    const file = prefix === undefined ? '' : path.join(roots[prefix], rel);
    if (!file || !file.startsWith(roots[prefix as string]) || !statSync(file, { throwIfNoEntry: false })?.isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'content-length': statSync(file).size });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}
