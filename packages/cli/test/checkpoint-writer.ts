// Child process of checkpoint-kill.test.ts (bundled by esbuild, run by node): saves training
// checkpoints through the CLI's saveCheckpoint, one epoch after another, until it is killed.
//   node checkpoint-writer.js OUT_DIR MEGABYTES
// Every float of epoch k's model and optimizer buffer equals k, so a reader can tell which epoch
// it loaded and that the file is whole. Prints "saving K" before and "saved K MS" after each save
// (MS: how long it took).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Generator, type OptimizerState } from '@residual/core';
import { latestCheckpoint, saveCheckpoint, type TrainState } from '../src/checkpoint.js';

async function main(): Promise<void> {
  const [out, megabytes] = [process.argv[2], Number(process.argv[3])];
  await tf.setBackend('cpu');
  const latest = await latestCheckpoint(out);
  const first = latest === undefined ? 1 : Number(/epoch-(\d+)$/.exec(latest)?.[1]) + 1;
  const floats = Math.round((megabytes * 2 ** 20) / 4 / 2);
  for (let epoch = first; ; epoch++) {
    const weight = tf.fill([floats], epoch);
    const momentum = tf.fill([floats], epoch);
    const model = new Map<string, tf.Tensor>([['backbone.weight', weight], ['step', tf.scalar(epoch, 'int32')]]);
    const optimizer: OptimizerState = { paramGroups: [{ params: [0], lr: 0.01 }], state: { 0: { step: epoch, buffers: { momentum_buffer: momentum } } } };
    const state: TrainState = {
      format: 'residual-train-checkpoint', version: 1, epoch, iteration: epoch, arch: 'fasterrcnn', backbone: 'resnet18',
      numClasses: 2, categories: [{ id: 1, name: 'thing' }], optimizer: { paramGroups: [], steps: {} },
      scheduler: { lastStep: epoch, baseLrs: [0.01] }, generator: new Generator(epoch).state(),
    };
    process.stdout.write(`saving ${epoch}\n`);
    const t0 = Date.now();
    await saveCheckpoint(out, state, model, optimizer);
    process.stdout.write(`saved ${epoch} ${Date.now() - t0}\n`);
    tf.dispose([...model.values(), momentum]);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${String((e as Error).stack ?? e)}\n`);
  process.exit(1);
});
