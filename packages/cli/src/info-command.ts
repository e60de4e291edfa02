import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { wasmThreads } from '@residual/core';
import type { Command, CommandContext } from './command.js';
import { positionals } from './flag-values.js';

const requireHere = createRequire(__filename);

/** Versions of the residual packages and of tfjs that this command runs with (each package's own package.json). */
function versions(): Record<string, string> {
  const names = ['cli', 'core', 'resnet', 'fpn', 'rpn', 'faster-rcnn', 'mask-rcnn', 'vit', 'mae', 'data', 'eval', 'onnx'].map((p) => `@residual/${p}`);
  const out: Record<string, string> = {};
  for (const name of [...names, '@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-node', 'onnxruntime-node', 'sharp']) {
    try {
      out[name] = (requireHere(`${name}/package.json`) as { version: string }).version;
    } catch {
      out[name] = 'not installed';
    }
  }
  return out;
}

async function runInfo(ctx: CommandContext): Promise<void> {
  positionals(ctx, 'info', 'none', 0);
  const backend = await ctx.initBackend();
  const threads = wasmThreads();
  const info = {
    backend,
    wasmThreads: threads,
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    cpus: os.availableParallelism(),
    memoryGiB: Number((os.totalmem() / 2 ** 30).toFixed(1)),
    tfjsFlags: { WASM_HAS_SIMD_SUPPORT: tf.env().getFlags().WASM_HAS_SIMD_SUPPORT ?? null },
    versions: versions(),
  };
  if (ctx.common.json) {
    ctx.printJson(info);
    return;
  }
  ctx.print(`backend      ${backend}${threads ? ` (${threads.count} thread${threads.count === 1 ? '' : 's'}${threads.reason ? `: ${threads.reason}` : ''})` : ''}`);
  ctx.print(`node         ${info.node} on ${info.platform}, ${info.cpus} cores, ${info.memoryGiB} GiB`);
  for (const [name, version] of Object.entries(info.versions)) ctx.print(`${name.padEnd(32)} ${version}`);
}

/** `residual info`: the backend it runs on (and wasm threads), Node, cores, and package versions. */
export const infoCommand: Command = {
  name: 'info',
  summary: 'show the backend, wasm threads, machine and package versions',
  help: `Usage: residual info [--backend node|wasm|cpu] [--json]

Loads the backend as every command does and reports it (with the wasm thread count and, if lower
than asked, why), Node, the platform, cores and memory, and the installed versions of the
@residual packages, tfjs and the optional engines (tfjs-node, onnxruntime-node).`,
  options: {},
  run: runInfo,
};
