import * as tf from '@tensorflow/tfjs-core';
import { StateDictError, ValueError, type InferenceFusion } from '@residual/core';
import { readImage } from '@residual/data';
import type { ResNetName } from '@residual/resnet';
import { CLASSIFIERS } from './arch-table.js';
import type { Command, CommandContext } from './command.js';
import { classificationTransform } from './classification-transform.js';
import { fuseTraced } from './fuse-traced.js';
import { loadWeights } from './load-weights.js';
import { choiceFlag, numberFlag, positionals, stringFlag } from './flag-values.js';
import { readInput } from './read-input.js';

/** One ranked class of one image. */
export interface ClassScore {
  index: number;
  label: string;
  probability: number;
}

/** Labels from a file: a JSON array of strings, or one label per line. */
async function readLabels(file: string, numClasses: number): Promise<string[]> {
  const text = (await readInput(file, '--labels')).toString('utf8');
  let labels: unknown;
  try {
    labels = text.trimStart().startsWith('[') ? JSON.parse(text) : text.split(/\r?\n/).filter((l, i, all) => l !== '' || i < all.length - 1);
  } catch (e) {
    throw new ValueError(`--labels ${file} is not valid JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string')) throw new ValueError(`--labels ${file} must be a JSON array of strings or one label per line`);
  if (labels.length !== numClasses) throw new ValueError(`--labels ${file} has ${labels.length} labels, the weights have ${numClasses} classes`);
  return labels;
}

async function runClassify(ctx: CommandContext): Promise<void> {
  const images = positionals(ctx, 'classify', 'IMAGES...', 1, true);
  const arch = choiceFlag(ctx, 'classify', 'arch', Object.keys(CLASSIFIERS) as ResNetName[], 'resnet50');
  const weightsFile = stringFlag(ctx, 'classify', 'weights', true);
  const topk = numberFlag(ctx, 'classify', 'topk', 5, { integer: true, min: 1 });
  const labelsFile = stringFlag(ctx, 'classify', 'labels');
  await ctx.initBackend();
  const { tensors } = await loadWeights(weightsFile, '--weights');
  const fc = tensors.get('fc.weight');
  let model;
  try {
    if (fc === undefined || fc.rank !== 2) {
      throw new StateDictError(`--weights ${weightsFile} has no 2-D "fc.weight": not a torchvision ${arch} classifier`);
    }
    model = CLASSIFIERS[arch]({ numClasses: fc.shape[0] });
    model.loadStateDict(tensors);
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
  model.eval();
  const numClasses = (fc as tf.Tensor).shape[0];
  const labels = labelsFile ? await readLabels(labelsFile, numClasses) : undefined;
  const k = Math.min(topk, numClasses);
  const results: Array<{ image: string; top: ClassScore[] }> = [];
  const progress = ctx.progress('classify', images.length);
  let fusion: InferenceFusion | undefined;
  try {
    const classifier = model;
    fusion = fuseTraced(classifier, (x) => classifier.forward(x)); // each conv + BatchNorm (+ ReLU) as one conv
    for (const file of images) {
      const image = await readImage(file);
      const probabilities = tf.tidy(() => {
        const input = tf.expandDims(classificationTransform(image), 0) as tf.Tensor4D; // [1,224,224,3]
        return tf.squeeze(tf.softmax(model.forward(input)), [0]) as tf.Tensor1D;
      });
      image.dispose();
      const { values, indices } = tf.topk(probabilities, k);
      const [p, i] = [await values.data(), await indices.data()];
      tf.dispose([probabilities, values, indices]);
      const top = [...i].map((index, r) => ({ index, label: labels ? labels[index] : String(index), probability: p[r] }));
      results.push({ image: file, top });
      progress.tick(file);
    }
  } finally {
    progress.done();
    fusion?.unfuse();
    model.dispose();
  }
  if (ctx.common.json) {
    ctx.printJson(results);
    return;
  }
  for (const { image, top } of results) {
    ctx.print(image);
    top.forEach((c, r) => ctx.print(`  ${r + 1}. ${c.label} ${c.probability.toFixed(4)}`));
  }
}

/** `residual classify IMAGES... --arch resnet50 --weights FILE`: ImageNet-style top-k. */
export const classifyCommand: Command = {
  name: 'classify',
  summary: 'classify images with a torchvision ResNet (ImageNet preprocessing, top-k)',
  help: `Usage: residual classify IMAGES... --weights FILE [--arch resnet50] [--topk 5] [--labels FILE]

Resizes the shorter side to 256, center-crops 224, normalises with the ImageNet mean and std (as
torchvision's ResNet50_Weights.IMAGENET1K_V1 transforms on tensors) and prints the top-k classes
with their softmax probabilities. The number of classes is read from fc.weight.

Flags:
  --arch NAME        ${Object.keys(CLASSIFIERS).join(', ')} (default resnet50)
  --weights FILE     safetensors or torch .pth weights with torchvision keys
  --topk K           classes per image (default 5)
  --labels FILE      class names: a JSON array or one per line (default: class indices)`,
  options: {
    arch: { type: 'string' },
    weights: { type: 'string' },
    topk: { type: 'string' },
    labels: { type: 'string' },
  },
  run: runClassify,
};
