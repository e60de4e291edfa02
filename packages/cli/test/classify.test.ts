import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Generator } from '@residual/core';
import { saveSafetensors } from '@residual/core/node';
import { readImage } from '@residual/data';
import { resnet18 } from '@residual/resnet';
import { useBackend } from '@residual/test-utils';
import { classificationTransform } from '../src/classification-transform.js';
import { fixture, runCli, tempDir } from './run-cli.js';

describe('residual classify', () => {
  let dir: string;
  let weights: string;
  let expected: Array<{ index: number; probability: number }>;

  beforeAll(async () => {
    await useBackend();
    dir = tempDir();
    weights = path.join(dir, 'resnet18-3.safetensors');
    // A random ResNet-18 with 3 classes: the CLI must load it from the file, preprocess as
    // classificationTransform (torchvision parity in its own test) and rank the softmax. Random
    // BatchNorm statistics, so that the CLI's fused convs (BatchNorm folded in) differ from the
    // plain model's by more than a no-op fold would.
    const model = resnet18({ numClasses: 3, generator: new Generator(3) });
    const gen = new Generator(4);
    const dict = model.stateDict();
    for (const [key, t] of dict) {
      const stat = key.endsWith('running_mean') ? gen.uniform(t.shape, -0.2, 0.2) : key.endsWith('running_var') ? gen.uniform(t.shape, 0.5, 2) : undefined;
      if (stat) {
        t.dispose();
        dict.set(key, stat);
      }
    }
    model.loadStateDict(dict);
    await saveSafetensors(weights, dict);
    dict.forEach((t) => t.dispose());
    model.eval();
    const image = await readImage(fixture('classify', 'photo.png'));
    const probabilities = tf.tidy(() => tf.softmax(model.forward(tf.expandDims(classificationTransform(image), 0) as tf.Tensor4D)).dataSync());
    image.dispose();
    model.dispose();
    expected = [...probabilities].map((probability, index) => ({ index, probability })).sort((a, b) => b.probability - a.probability);
  });

  it('prints the top-k classes of each image with the labels given', async () => {
    const labels = path.join(dir, 'labels.txt');
    fs.writeFileSync(labels, 'cat\ndog\nfox\n');
    const image = fixture('classify', 'photo.png');
    const before = tf.memory().numTensors;
    const { code, stdout, stderr } = await runCli(['classify', image, image, '--arch', 'resnet18', '--weights', weights, '--topk', '2', '--labels', labels]);
    expect(code).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
    const names = ['cat', 'dog', 'fox'];
    const block = `${image}\n${expected.slice(0, 2).map((c, r) => `  ${r + 1}. ${names[c.index]} ${c.probability.toFixed(4)}`).join('\n')}\n`;
    expect(stdout).toBe(block + block);
    expect(stderr).toBe(`classify 1/2 ${image}\nclassify 2/2 ${image}\n`); // plain progress lines: stdout is no TTY
  });

  it('gives indices and probabilities with --json, at most as many classes as the model has', async () => {
    const { code, stdout, stderr } = await runCli(['classify', fixture('classify', 'photo.png'), '--arch', 'resnet18', '--weights', weights, '--json']);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const [result] = JSON.parse(stdout) as Array<{ image: string; top: Array<{ index: number; label: string; probability: number }> }>;
    expect(result.top.map((c) => [c.index, c.label])).toEqual(expected.map((c) => [c.index, String(c.index)]));
    // The CLI runs each conv + BatchNorm (+ ReLU) fused: equal to the plain model to float rounding.
    result.top.forEach((c, i) => expect(Math.abs(c.probability - expected[i].probability)).toBeLessThan(1e-5));
  });

  it('draws a progress bar only when stdout is a terminal', async () => {
    const { code, stdout, stderr } = await runCli(['classify', fixture('classify', 'tall.png'), '--arch', 'resnet18', '--weights', weights], { tty: true });
    expect(code).toBe(0);
    expect(stderr).toBe('');
    const tall = fixture('classify', 'tall.png');
    // the last tick's detail (the file) follows the bar and clears the rest of the line
    expect(stdout.startsWith(`\rclassify [------------------------] 0/1 0.0/s ETA --:--\rclassify [########################] 1/1 1.0/s ETA 00:00 ${tall}\x1b[K\r\x1b[2K`)).toBe(true);
  });

  it('refuses weights that are not a classifier of that architecture', async () => {
    const other = path.join(dir, 'other.safetensors');
    await saveSafetensors(other, { 'conv.weight': tf.zeros([1, 1, 1, 1]) });
    const run1 = await runCli(['classify', fixture('classify', 'photo.png'), '--arch', 'resnet18', '--weights', other]);
    expect(run1).toEqual({
      code: 1,
      stdout: '',
      stderr: `residual classify: --weights ${other} has no 2-D "fc.weight": not a torchvision resnet18 classifier\n`,
    });
    const run2 = await runCli(['classify', fixture('classify', 'photo.png'), '--arch', 'resnet34', '--weights', weights]);
    expect(run2.code).toBe(1);
    expect(run2.stderr).toMatch(/^residual classify: loadStateDict: .*missing/);
  });

  it('names a label file that does not fit the weights, and an image that cannot be read', async () => {
    const labels = path.join(dir, 'two.json');
    fs.writeFileSync(labels, '["a", "b"]');
    const run1 = await runCli(['classify', fixture('classify', 'photo.png'), '--arch', 'resnet18', '--weights', weights, '--labels', labels]);
    expect(run1.stderr).toBe(`residual classify: --labels ${labels} has 2 labels, the weights have 3 classes\n`);
    const missing = path.join(dir, 'nope.png');
    const run2 = await runCli(['classify', missing, '--arch', 'resnet18', '--weights', weights, '--quiet']);
    expect(run2).toEqual({ code: 1, stdout: '', stderr: `residual classify: readImage: cannot read image ${missing}: no such file\n` });
  });

  it('checks its flags first (exit code 2)', async () => {
    expect((await runCli(['classify', '--weights', weights])).stderr.split('\n')[0]).toBe('residual classify: expected at least 1 argument (IMAGES...), got 0');
    expect((await runCli(['classify', 'a.png', '--weights', weights, '--topk', '0'])).stderr.split('\n')[0]).toBe(
      'residual classify: --topk must be an integer ≥ 1, got "0"',
    );
    const arch = await runCli(['classify', 'a.png', '--weights', weights, '--arch', 'vgg16']);
    expect(arch.code).toBe(2);
    expect(arch.stderr.split('\n')[0]).toMatch(/^residual classify: --arch must be one of resnet18, resnet34, .*, got "vgg16"$/);
  });
});
