#!/usr/bin/env node
import { run } from './run.js';

// The `residual` executable: everything else is in run(), which tests call in-process.
run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`residual: internal error: ${String(e)}\n`);
    process.exitCode = 1;
  },
);
