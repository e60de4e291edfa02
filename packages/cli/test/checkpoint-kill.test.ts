import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadSafetensors } from '@residual/core/node';
import { useBackend } from '@residual/test-utils';
import { build } from 'esbuild';
import { loadCheckpoint, saveCheckpoint, type TrainState } from '../src/checkpoint.js';
import { tempDir } from './run-cli.js';

// Issue 10: a process killed (SIGKILL) in the middle of saving a checkpoint leaves the last good
// checkpoint loadable and no partial file under a final name. A child process saves 48 MB
// checkpoints back to back through the CLI's saveCheckpoint; each round waits for one save to
// finish, then kills the child at another fraction of a save's duration into the next one.
const MEGABYTES = 48;
const KILL_AT = [0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.9, 1];
const FILES = ['model.safetensors', 'optimizer.safetensors', 'state.json'];

let writer: string;
beforeAll(async () => {
  await useBackend();
  // The child runs the TypeScript sources, bundled (workspace packages resolved to their src/);
  // tfjs stays external (one CommonJS copy from the workspace's node_modules, found through
  // NODE_PATH) and core's ESM-only gradient registrations are left out (saving needs no gradient).
  writer = path.join(tempDir(), 'checkpoint-writer.js');
  const packages = path.resolve(__dirname, '..', '..');
  await build({
    entryPoints: [path.join(__dirname, 'checkpoint-writer.ts')],
    outfile: writer,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'error',
    external: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-cpu'],
    plugins: [{
      name: 'workspace-sources',
      setup(b) {
        b.onResolve({ filter: /^@residual\/[a-z-]+(\/node)?$/ }, ({ path: spec }) => {
          const [, pkg, node] = /^@residual\/([a-z-]+)(\/node)?$/.exec(spec) as RegExpExecArray;
          return { path: path.join(packages, pkg, 'src', node ? 'node.ts' : 'index.ts') };
        });
        b.onResolve({ filter: /register_all_gradients/ }, () => ({ path: 'gradients', namespace: 'left-out' }));
        b.onLoad({ filter: /.*/, namespace: 'left-out' }, () => ({ contents: '', loader: 'js' }));
      },
    }],
  });
}, 60000);

interface Round {
  /** The last epoch the child reported saved before it was killed. */
  lastSaved: number;
  /** Whether a temporary leftover showed that the kill landed inside a save. */
  midSave: boolean;
}

/**
 * Starts the writer on `out`, waits for one finished save, then kills it `fraction` of that save's
 * duration after the next save began. Resolves to the last epoch the writer reported saved.
 */
function killMidSave(out: string, fraction: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, NODE_PATH: path.resolve(__dirname, '..', '..', '..', 'node_modules') };
    const child = spawn(process.execPath, [writer, out, String(MEGABYTES)], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    let lastSaved = 0;
    let timer: NodeJS.Timeout | undefined;
    let lastMs = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const lines = stdout.split('\n');
      stdout = lines.pop() as string;
      for (const line of lines) {
        const [what, epoch, ms] = line.split(' ');
        if (what === 'saved') [lastSaved, lastMs] = [Number(epoch), Number(ms)];
        if (what === 'saving' && lastSaved > 0) timer ??= setTimeout(() => child.kill('SIGKILL'), fraction * lastMs);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(lastSaved);
      else reject(new Error(`checkpoint writer exited with ${code} before it was killed:\n${stderr}`));
    });
  });
}

/**
 * Checks `out` after a kill: `latest` names a whole checkpoint of at least `lastSaved`, and no
 * partial file is under a final name. Resolves to whether the folder shows an interrupted save
 * (anything besides `latest` and the folder of `lastSaved`).
 */
async function inspect(out: string, lastSaved: number): Promise<boolean> {
  const pointer = fs.readFileSync(path.join(out, 'latest'), 'utf8');
  expect(pointer).toMatch(/^epoch-\d{4}\n$/);
  const { state, model, optimizer, dir } = await loadCheckpoint(out);
  expect(dir).toBe(path.join(out, pointer.trim()));
  expect([lastSaved, lastSaved + 1]).toContain(state.epoch); // the pointer may move after the last "saved" line
  const weight = model.get('backbone.weight') as tf.Tensor;
  const momentum = optimizer.state[0].buffers.momentum_buffer;
  expect(weight.size * 4 * 2).toBeCloseTo(MEGABYTES * 2 ** 20, -2);
  for (const t of [weight, momentum]) expect([tf.min(t).dataSync()[0], tf.max(t).dataSync()[0]]).toEqual([state.epoch, state.epoch]);
  tf.dispose([...model.values(), momentum]);
  const entries = fs.readdirSync(out).sort();
  for (const entry of entries) {
    if (entry === 'latest') continue;
    if (/^\.(epoch-\d{4}(\.old)?\.tmp|latest\.\d+\.[0-9a-f]+\.tmp)$/.test(entry)) continue; // a killed save's temporaries
    expect(entry).toMatch(/^epoch-\d{4}$/);
    expect(fs.readdirSync(path.join(out, entry)).sort()).toEqual(FILES);
    for (const file of FILES.slice(0, 2)) tf.dispose([...(await loadSafetensors(path.join(out, entry, file))).tensors.values()]);
    expect(JSON.parse(fs.readFileSync(path.join(out, entry, 'state.json'), 'utf8')).epoch).toBe(Number(entry.slice(6)));
  }
  return entries.join() !== [`epoch-${String(lastSaved).padStart(4, '0')}`, 'latest'].join();
}

describe('saveCheckpoint under SIGKILL', () => {
  it('always leaves `latest` naming a whole checkpoint and no partial file under a final name', async () => {
    const out = path.join(tempDir(), 'ckpt');
    const rounds: Round[] = [];
    for (const fraction of KILL_AT) {
      const lastSaved = await killMidSave(out, fraction);
      rounds.push({ lastSaved, midSave: await inspect(out, lastSaved) });
    }
    // Each round continued from the checkpoint the previous kill left.
    expect(rounds.map((r) => r.lastSaved)).toEqual([...rounds.map((r) => r.lastSaved)].sort((a, b) => a - b));
    // Kills early in a save land in its NaN scan, before anything is written; most land later
    // (6 of the 8 in a run on two loaded cores). A quarter is required, so load does not flake it.
    expect(rounds.filter((r) => r.midSave).length).toBeGreaterThanOrEqual(KILL_AT.length / 4);

    // The next save clears what the killed ones left behind.
    const { state, model, optimizer } = await loadCheckpoint(out);
    const next: TrainState = { ...state, epoch: state.epoch + 1 };
    await saveCheckpoint(out, next, model, optimizer);
    tf.dispose([...model.values(), ...Object.values(optimizer.state).flatMap((s) => Object.values(s.buffers))]);
    expect(fs.readdirSync(out).sort()).toEqual([`epoch-${String(next.epoch).padStart(4, '0')}`, 'latest']);
  }, 180000);
});
