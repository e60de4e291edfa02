import type { Generator } from '@residual/core';
import { AdamW, SGD } from '@residual/core';
import { DataLoader, disposeSample, randomHorizontalFlip, type CocoDataset } from '@residual/data';
import { trainStep, type GeneralizedRCNN, type LossName } from '@residual/faster-rcnn';
import { DivergenceError, targetsOf, type IterationRecord } from './train-loop.js';

/** How long and how hard the demo trains. */
export interface BudgetedTrainingOptions {
  /** Planned optimizer steps. */
  iterations: number;
  /** Wall-clock budget in seconds: on a slower machine the run ends sooner, its schedule compressed. */
  seconds: number;
  batchSize: number;
  /** 'sgd' (momentum 0.9, weight decay 1e-4) or 'adamw' (betas 0.9/0.999, weight decay 1e-4). */
  optimizer: 'sgd' | 'adamw';
  lr: number;
  warmupIters: number;
  /** Gradient clipping (total L2 norm), which keeps from-scratch training stable at small batches. */
  maxGradNorm: number;
  generator: Generator;
  /** Milliseconds clock (default Date.now). */
  now?: () => number;
}

/**
 * SGD or AdamW (gradients clipped to `maxGradNorm`) with a linear warm-up and a cosine decay over the run's
 * progress p = max(step / iterations, elapsed / seconds): on a machine fast enough for the planned
 * steps the run is exactly reproducible from the seed; on a slower one it ends on time with the
 * learning rate annealed. Shuffled batches with random horizontal flips from `generator`. A NaN or
 * infinite loss throws a DivergenceError. Returns every step's record.
 */
export async function trainForBudget(
  model: GeneralizedRCNN,
  dataset: CocoDataset,
  o: BudgetedTrainingOptions,
  onStep: (record: IterationRecord, progress: number) => void,
): Promise<IterationRecord[]> {
  const now = o.now ?? Date.now;
  const params = model.trainableParameters();
  const sgd = o.optimizer === 'adamw' ? new AdamW(params, { lr: o.lr, weightDecay: 1e-4 }) : new SGD(params, { lr: o.lr, momentum: 0.9, weightDecay: 1e-4 });
  const loader = new DataLoader(dataset, { batchSize: o.batchSize, shuffle: true, generator: o.generator, prefetch: 1, dropLast: true });
  const flip = randomHorizontalFlip(0.5, o.generator);
  const records: IterationRecord[] = [];
  const start = now();
  const progress = (): number => Math.max(records.length / o.iterations, (now() - start) / 1000 / o.seconds);
  model.train();
  try {
    for (let epoch = 1; progress() < 1; epoch++) {
      for await (const loaded of loader) {
        const batch = loaded.map((s) => flip(s));
        loaded.forEach(disposeSample);
        const p = progress();
        const warmup = Math.min(1, (records.length + 1) / o.warmupIters);
        const lr = o.lr * warmup * 0.5 * (1 + Math.cos(Math.PI * Math.min(p, 1)));
        sgd.paramGroups[0].lr = lr;
        let losses: Record<LossName, number>;
        try {
          losses = trainStep(model, sgd, batch.map((s) => s.image), targetsOf(batch, true), { maxGradNorm: o.maxGradNorm });
        } finally {
          batch.forEach(disposeSample);
        }
        const loss = Object.values(losses).reduce((a, b) => a + b, 0);
        const record: IterationRecord = { epoch, iteration: records.length + 1, lr, losses, loss };
        if (!Number.isFinite(loss)) {
          throw new DivergenceError(`loss is ${loss} at step ${record.iteration} (${Object.entries(losses).map(([k, v]) => `${k} ${v}`).join(', ')}); try a lower --lr`);
        }
        records.push(record);
        onStep(record, progress());
        if (progress() >= 1) break;
      }
    }
    return records;
  } finally {
    sgd.dispose();
  }
}
