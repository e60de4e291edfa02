// What the release scripts know about the workspace: its public packages, their @residual
// dependency closure and their README examples. Pure reads of the working tree, no side effects.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The monorepo root (two folders above tools/release/lib). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Scope of the workspace's own packages. */
export const SCOPE = '@residual/';

/**
 * Every workspace package as { dir, name, short, pkg, isPublic }, in dependency order (a package
 * comes after the @residual packages it depends on). `short` is the folder name ("faster-rcnn").
 */
export function workspacePackages() {
  const dir = join(ROOT, 'packages');
  const all = readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'package.json')))
    .map((d) => {
      const pkg = JSON.parse(readFileSync(join(dir, d.name, 'package.json'), 'utf8'));
      return { dir: join(dir, d.name), name: pkg.name, short: d.name, pkg, isPublic: pkg.private !== true };
    });
  const byName = new Map(all.map((p) => [p.name, p]));
  const ordered = [];
  const seen = new Set();
  const visit = (p) => {
    if (seen.has(p.name)) return;
    seen.add(p.name);
    for (const dep of internalDependencies(p.pkg)) if (byName.has(dep)) visit(byName.get(dep));
    ordered.push(p);
  };
  all.sort((a, b) => a.short.localeCompare(b.short)).forEach(visit);
  return ordered;
}

/** The @residual names in a package.json's "dependencies" (not dev or peer). */
export function internalDependencies(pkg) {
  return Object.keys(pkg.dependencies ?? {}).filter((d) => d.startsWith(SCOPE));
}

/**
 * The package and every @residual package it needs at run time, transitively, as names.
 * Throws if a dependency is not a workspace package.
 */
export function dependencyClosure(name, packages) {
  const byName = new Map(packages.map((p) => [p.name, p]));
  const out = new Set();
  const stack = [name];
  while (stack.length > 0) {
    const n = stack.pop();
    if (out.has(n)) continue;
    const p = byName.get(n);
    if (!p) throw new Error(`dependencyClosure: ${n} is not a workspace package`);
    out.add(n);
    stack.push(...internalDependencies(p.pkg));
  }
  return [...out];
}

/** The first ```ts (or ```typescript) fenced block of a README, or null when there is none. */
export function firstTsExample(readme) {
  const m = /^```(?:ts|typescript)[ \t]*\r?\n([\s\S]*?)^```/m.exec(readme);
  return m ? m[1] : null;
}

/** The subpaths a package exports besides "." and "./package.json" (e.g. ["./node"]). */
export function extraEntryPoints(pkg) {
  return Object.keys(pkg.exports ?? {}).filter((k) => k !== '.' && k !== './package.json' && !k.includes('*'));
}
