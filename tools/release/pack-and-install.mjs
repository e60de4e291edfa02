// `npm run test:release`: every public package packs and installs alone (issue 10).
//
//   npm run test:release                         # build, pack, install and run everything (~5-8 min)
//   node tools/release/pack-and-install.mjs --skip-build --only resnet,core --keep
//
// For each public package: `npm pack` into a scratch folder, check the tarball holds only dist/**
// (js, d.ts, maps), package.json, README.md and LICENSE; then, in an empty folder, `npm install` of
// only that tarball and its @residual dependencies' tarballs (local npm cache first) and check that
// node_modules/@residual holds exactly that set; then (a) the README's first ```ts example (with the
// package's optional peer dependencies installed, as a user of that example would),
// transpiled to ESM, runs as written; (b) `require` and `import` of every entry point work, and ESM
// sees every CJS name; (c) `tsc --noEmit` resolves the types of every runtime export. Prints a table
// and the details of each failure; exits 1 if anything failed. Not part of `npm test`: it is slow.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { checkTarballFiles, checkTypes, installOptionalPeers, installTarballs, loadEntryPoints, runReadmeExample, sh, tail } from './lib/checks.mjs';
import { ROOT, dependencyClosure, workspacePackages } from './lib/workspace.mjs';

const { values: opt } = parseArgs({
  options: {
    'skip-build': { type: 'boolean', default: false },
    only: { type: 'string' },
    keep: { type: 'boolean', default: false },
    jobs: { type: 'string', default: '2' },
    'readme-timeout': { type: 'string', default: '240' },
    help: { type: 'boolean', default: false },
  },
});
if (opt.help) {
  console.log('node tools/release/pack-and-install.mjs [--skip-build] [--only core,resnet] [--keep] [--jobs 2] [--readme-timeout 240]');
  process.exit(0);
}

const t0 = Date.now();
const log = (s) => console.log(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${s}`);
const COLUMNS = ['pack', 'files', 'install', 'readme', 'cjs', 'esm', 'types'];

async function main() {
  const packages = workspacePackages();
  const publics = packages.filter((p) => p.isPublic);
  const only = opt.only?.split(',').map((s) => s.trim());
  const targets = only ? publics.filter((p) => only.includes(p.short) || only.includes(p.name)) : publics;
  const work = mkdtempSync(join(os.tmpdir(), 'residual-release-'));
  const tarDir = join(work, 'tarballs');
  mkdirSync(tarDir);
  log(`scratch folder ${work}`);

  let buildNote = 'skipped';
  if (!opt['skip-build']) {
    log('npx nx run-many -t build');
    const b = await sh('npx', ['nx', 'run-many', '-t', 'build', '--outputStyle=static'], { cwd: ROOT, timeoutS: 600, env: { NX_DAEMON: 'false' } });
    buildNote = b.code === 0 ? 'ok' : 'FAILED';
    if (b.code !== 0) console.log(`build failed; packing whatever dist/ holds:\n${tail(b.out, 25)}`);
  }

  // Pack every public package the targets need (their closures), once.
  const needed = new Set(targets.flatMap((p) => dependencyClosure(p.name, packages)));
  const tarballs = new Map();
  const rows = new Map(targets.map((p) => [p.name, {}]));
  for (const p of publics.filter((q) => needed.has(q.name))) {
    const r = await sh('npm', ['pack', '--json', '--pack-destination', tarDir], { cwd: p.dir, timeoutS: 120 });
    const json = r.code === 0 ? JSON.parse(r.out.slice(r.out.indexOf('['))) : null;
    const row = rows.get(p.name);
    if (!json) {
      if (row) row.pack = { ok: false, note: 'npm pack failed', detail: tail(r.out) };
      continue;
    }
    tarballs.set(p.name, join(tarDir, json[0].filename));
    if (row) {
      row.pack = { ok: true, note: `${(json[0].size / 1024).toFixed(0)} kB` };
      row.files = checkTarballFiles(p, json[0].files.map((f) => f.path));
    }
  }
  log(`packed ${tarballs.size} tarballs`);

  // Install and run, `jobs` packages at a time.
  const queue = targets.filter((p) => tarballs.has(p.name));
  const worker = async () => {
    for (let p = queue.shift(); p; p = queue.shift()) await checkPackage(p, packages, tarballs, work, rows.get(p.name));
  };
  await Promise.all(Array.from({ length: Math.max(1, Number(opt.jobs)) }, worker));

  const failed = printReport(targets, rows, buildNote);
  writeFileSync(join(work, 'report.json'), JSON.stringify(Object.fromEntries(rows), null, 2));
  if (opt.keep) log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
  log(failed === 0 ? 'all packages install alone' : `${failed} package(s) with failures`);
  process.exitCode = failed === 0 && buildNote !== 'FAILED' ? 0 : 1;
}

async function checkPackage(p, packages, tarballs, work, row) {
  const closure = dependencyClosure(p.name, packages);
  const missing = closure.filter((n) => !tarballs.has(n));
  if (missing.length > 0) {
    row.install = { ok: false, note: 'dep not packed', detail: missing.join(', ') };
    return;
  }
  const dir = join(work, 'install', p.short);
  mkdirSync(dir, { recursive: true });
  log(`${p.name}: npm install ${closure.length} tarball(s)`);
  row.install = await installTarballs(dir, closure.map((n) => tarballs.get(n)), closure);
  if (!row.install.ok) return;
  const peers = await installOptionalPeers(p, dir);
  if (peers) log(`${p.name}: optional peers ${peers.ok ? peers.note : 'FAILED'}`);
  log(`${p.name}: README example`);
  row.readme = peers && !peers.ok ? peers : await runReadmeExample(p, dir, Number(opt['readme-timeout']));
  const loaded = await loadEntryPoints(p, dir);
  row.cjs = loaded.cjs;
  row.esm = loaded.esm;
  row.types = loaded.names.size > 0 ? await checkTypes(dir, loaded.names) : { ok: false, note: 'no names' };
  log(`${p.name}: done`);
}

function printReport(targets, rows, buildNote) {
  const cell = (c) => (c ? `${c.ok ? 'ok' : 'FAIL'} ${c.note ?? ''}`.trim() : '-');
  const header = ['package', ...COLUMNS];
  const body = targets.map((p) => [p.name, ...COLUMNS.map((c) => cell(rows.get(p.name)[c]))]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (r) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(`\nbuild: ${buildNote}`);
  console.log(line(header));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  body.forEach((r) => console.log(line(r)));
  let failed = 0;
  for (const p of targets) {
    const bad = COLUMNS.filter((c) => rows.get(p.name)[c] && !rows.get(p.name)[c].ok);
    if (bad.length > 0) failed += 1;
    for (const c of bad) console.log(`\n--- ${p.name} ${c}: ${rows.get(p.name)[c].note}\n${rows.get(p.name)[c].detail ?? ''}`);
  }
  return failed;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
