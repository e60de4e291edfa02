// The checks pack-and-install.mjs runs on one package. Each returns { ok, note, detail } where
// `note` fits a table cell and `detail` (multi-line) is printed under the table when ok is false.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { ROOT, SCOPE, extraEntryPoints, firstTsExample } from './workspace.mjs';

const require = createRequire(import.meta.url);
const ts = require(join(ROOT, 'node_modules', 'typescript'));
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

/** Runs a command; resolves { code, out, ms } (stdout + stderr interleaved); never rejects. */
export function sh(cmd, args, { cwd, timeoutS = 300, env } = {}) {
  const t0 = Date.now();
  return new Promise((done) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const take = (b) => { out += b; if (out.length > 200_000) out = out.slice(-100_000); };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    const timer = setTimeout(() => { out += `\n[killed after ${timeoutS} s]`; child.kill('SIGKILL'); }, timeoutS * 1000);
    child.on('error', (e) => { out += String(e); });
    child.on('close', (code) => { clearTimeout(timer); done({ code: code ?? 1, out, ms: Date.now() - t0 }); });
  });
}

/** The last `n` lines of a command's output, for failure details. */
export const tail = (s, n = 15) => s.trim().split('\n').slice(-n).join('\n');

// A tarball may hold only these (npm adds package.json, README and LICENSE itself).
const ALLOWED = /^(package\.json|README\.md|LICENSE|dist\/.+\.(js|d\.ts|js\.map|d\.ts\.map))$/;

/**
 * Checks a tarball's file list (from `npm pack --json`): only dist/** js, d.ts and maps, plus
 * package.json, README.md and LICENSE; LICENSE, README, "main" and "types" present; no dist file
 * without its source (a stale build output that would ship).
 */
export function checkTarballFiles(p, files) {
  const problems = [];
  const extra = files.filter((f) => !ALLOWED.test(f));
  if (extra.length > 0) problems.push(`unexpected files: ${extra.join(', ')}`);
  for (const need of ['package.json', 'README.md', 'LICENSE']) {
    if (!files.includes(need)) problems.push(`missing ${need}`);
  }
  for (const field of ['main', 'types']) {
    const f = p.pkg[field]?.replace(/^\.\//, '');
    if (!f) problems.push(`package.json has no "${field}"`);
    else if (!files.includes(f)) problems.push(`"${field}" ${f} is not in the tarball`);
  }
  const stale = files
    .filter((f) => /^dist\/.+\.js$/.test(f))
    .filter((f) => !existsSync(join(p.dir, f.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts'))));
  if (stale.length > 0) problems.push(`dist files with no source (stale build?): ${stale.join(', ')}`);
  const sizeNote = `${files.length} files`;
  return problems.length === 0
    ? { ok: true, note: sizeNote }
    : { ok: false, note: problems.some((x) => x.startsWith('missing LICENSE')) ? 'no LICENSE' : 'bad files', detail: problems.join('\n') };
}

/**
 * Installs the given tarballs into the empty folder `dir` (npm, local cache first), then checks
 * that node_modules/@residual holds exactly `expected` and that each came from our tarball.
 */
export async function installTarballs(dir, tarballs, expected) {
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'release-consumer', version: '0.0.0', private: true }, null, 2));
  const r = await sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs], { cwd: dir, timeoutS: 400 });
  if (r.code !== 0) return { ok: false, note: 'npm failed', detail: tail(r.out), ms: r.ms };
  const scopeDir = join(dir, 'node_modules', SCOPE.slice(0, -1));
  const got = existsSync(scopeDir) ? readdirSync(scopeDir).map((n) => SCOPE + n).sort() : [];
  const want = [...expected].sort();
  if (got.join() !== want.join()) {
    return { ok: false, note: 'wrong @residual set', detail: `installed ${got.join(', ')}; expected ${want.join(', ')}`, ms: r.ms };
  }
  const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8'));
  const notOurs = want.filter((n) => !String(lock.packages?.[`node_modules/${n}`]?.resolved ?? '').startsWith('file:'));
  if (notOurs.length > 0) return { ok: false, note: 'not from tarball', detail: `resolved elsewhere: ${notOurs.join(', ')}`, ms: r.ms };
  return { ok: true, note: `${got.length} @residual`, ms: r.ms };
}

/**
 * Installs the package's optional peer dependencies (peerDependenciesMeta … optional) that the
 * workspace itself has installed, at that version (so the npm cache serves it): its README example
 * may use them as a user would install them alongside (onnxruntime-node for @residual/onnx). Uses
 * the workspace's .npmrc (it skips onnxruntime-node's GPU download). Optional peers the workspace
 * lacks (core's @tensorflow/tfjs-node) are not installed. Resolves { ok, note, detail }, or null
 * when there is nothing to install.
 */
export async function installOptionalPeers(p, dir) {
  const optional = Object.entries(p.pkg.peerDependenciesMeta ?? {}).filter(([, m]) => m?.optional).map(([name]) => name);
  const specs = optional
    .map((name) => join(ROOT, 'node_modules', name, 'package.json'))
    .filter((file) => existsSync(file))
    .map((file) => JSON.parse(readFileSync(file, 'utf8')))
    .map((pkg) => `${pkg.name}@${pkg.version}`);
  if (specs.length === 0) return null;
  if (existsSync(join(ROOT, '.npmrc'))) writeFileSync(join(dir, '.npmrc'), readFileSync(join(ROOT, '.npmrc')));
  const r = await sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...specs], { cwd: dir, timeoutS: 400 });
  return r.code === 0 ? { ok: true, note: specs.join(', ') } : { ok: false, note: 'optional peers failed', detail: tail(r.out) };
}

/** Transpiles the README's first ```ts example to ESM and runs it as readme-example.mjs. */
export async function runReadmeExample(p, dir, timeoutS) {
  const readmePath = join(p.dir, 'README.md');
  if (!existsSync(readmePath)) return { ok: false, note: 'no README' };
  const source = firstTsExample(readFileSync(readmePath, 'utf8'));
  if (source === null) return { ok: false, note: 'no ts example' };
  const js = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
    fileName: 'readme-example.ts',
  }).outputText;
  writeFileSync(join(dir, 'readme-example.mjs'), js);
  const r = await sh('node', ['readme-example.mjs'], { cwd: dir, timeoutS });
  return r.code === 0
    ? { ok: true, note: `${(r.ms / 1000).toFixed(1)} s`, output: r.out }
    : { ok: false, note: r.out.includes('[killed after') ? 'timeout' : 'throws', detail: tail(r.out, 12) };
}

/**
 * `require` and `import` of every entry point from the install folder. ESM must see every name
 * CJS has (node's cjs-module-lexer must detect the exports). Resolves { cjs, esm, names } where
 * names maps each entry point specifier to its CJS export names.
 */
export async function loadEntryPoints(p, dir) {
  const specs = [p.name, ...extraEntryPoints(p.pkg).map((e) => p.name + e.slice(1))];
  const names = new Map();
  const cjsErr = [];
  const esmErr = [];
  for (const s of specs) {
    const c = await sh('node', ['-e', `console.log(JSON.stringify(Object.keys(require(${JSON.stringify(s)}))))`], { cwd: dir, timeoutS: 60 });
    const e = await sh('node', ['--input-type=module', '-e', `import * as m from ${JSON.stringify(s)}; console.log(JSON.stringify(Object.keys(m)))`], { cwd: dir, timeoutS: 60 });
    const cjsKeys = c.code === 0 ? lastJson(c.out) : null;
    const esmKeys = e.code === 0 ? lastJson(e.out) : null;
    if (!cjsKeys) cjsErr.push(`require('${s}'):\n${tail(c.out, 6)}`);
    if (!esmKeys) esmErr.push(`import '${s}':\n${tail(e.out, 6)}`);
    if (cjsKeys) names.set(s, cjsKeys.filter((k) => k !== '__esModule'));
    if (cjsKeys && esmKeys) {
      const missing = names.get(s).filter((k) => !esmKeys.includes(k));
      if (missing.length > 0) esmErr.push(`import * from '${s}' lacks CJS names: ${missing.join(', ')}`);
    }
  }
  const count = [...names.values()].reduce((a, n) => a + n.length, 0);
  return {
    cjs: cjsErr.length === 0 ? { ok: true, note: `${count} names` } : { ok: false, note: 'fails', detail: cjsErr.join('\n') },
    esm: esmErr.length === 0 ? { ok: true, note: 'named ok' } : { ok: false, note: 'fails', detail: esmErr.join('\n') },
    names,
  };
}

function lastJson(out) {
  const line = out.trim().split('\n').filter((l) => l.startsWith('[')).at(-1);
  try { return line ? JSON.parse(line) : null; } catch { return null; }
}

/**
 * `tsc --noEmit` (the workspace's typescript, strict, NodeNext) on a consumer .ts (CJS mode) and
 * .mts (ESM mode) that name every runtime export as `keyof typeof import(...)`: fails when the
 * types do not resolve (implicit any) or a runtime export has no declaration.
 */
export async function checkTypes(dir, names) {
  const lines = [];
  let i = 0;
  for (const [spec, keys] of names) {
    lines.push(`import * as m${i} from ${JSON.stringify(spec)};`);
    lines.push(`export const names${i}: ReadonlyArray<keyof typeof m${i}> = ${JSON.stringify(keys)};`);
    i += 1;
  }
  const body = lines.join('\n') + '\n';
  writeFileSync(join(dir, 'consumer.ts'), body);
  writeFileSync(join(dir, 'consumer-esm.mts'), body);
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      strict: true, noEmit: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022',
      skipLibCheck: true, types: [],
    },
    files: ['consumer.ts', 'consumer-esm.mts'],
  }, null, 2));
  const r = await sh('node', [TSC, '-p', 'tsconfig.json'], { cwd: dir, timeoutS: 120 });
  return r.code === 0 ? { ok: true, note: 'cjs+esm' } : { ok: false, note: 'tsc errors', detail: tail(r.out, 12) };
}

/** A path relative to the root, for messages. */
export const rel = (path) => relative(ROOT, path);
