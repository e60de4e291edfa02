import * as tf from '@tensorflow/tfjs-core';
import { Generator, ValueError } from '@residual/core';
import { resnet18, type ResNet } from '@residual/resnet';
import { expectAllClose, expectNoLeak, maxAbsDiff, useBackend } from '@residual/test-utils';
import { fuseTraced } from './fuse-traced.js';

/** A seeded ResNet-18 (4 classes) with random BatchNorm statistics, in eval mode. */
function model(): ResNet {
  const net = resnet18({ numClasses: 4, generator: new Generator(5) });
  const gen = new Generator(6);
  const stats = new Map<string, tf.Tensor>();
  for (const [key, t] of net.namedBuffers()) {
    if (key.endsWith('running_mean')) stats.set(key, gen.uniform(t.shape, -0.2, 0.2));
    if (key.endsWith('running_var')) stats.set(key, gen.uniform(t.shape, 0.5, 2));
  }
  net.loadStateDict(stats, { strict: false });
  tf.dispose([...stats.values()]);
  return net.eval();
}

async function kernels(f: () => tf.Tensor): Promise<string[]> {
  const info = await tf.profile(f);
  tf.dispose(info.result as tf.Tensor);
  return [...new Set(info.kernels.map((k) => k.name))].sort();
}

describe('fuseTraced', () => {
  beforeAll(async () => {
    await useBackend();
  });

  it('runs the first real input fused (no plain conv or BatchNorm kernels left), equal to the plain model to float rounding', async () => {
    const net = model();
    const x = new Generator(7).uniform([2, 64, 64, 3], -1, 1) as tf.Tensor4D;
    const plain = net.forward(x);
    const weights = net.stateDict();
    const fusion = await expectNoLeak(() => fuseTraced(net, (input) => net.forward(input)));
    const after = net.stateDict();
    for (const [key, t] of weights) expect([key, maxAbsDiff(after.get(key) as tf.Tensor, t)]).toEqual([key, 0]); // state dict untouched
    tf.dispose([...weights.values(), ...after.values()]);
    expect(fusion.pairs).toBe(20); // stem, 2 per block × 8 blocks, 3 downsamples
    const first = await kernels(() => net.forward(x)); // folds the weights once (kept until unfuse)
    expect(first).toContain('FusedConv2D');
    expect(first).not.toContain('Conv2D');
    const fused = net.forward(x);
    expectAllClose(fused, plain, { rtol: 1e-4, atol: 1e-5 });
    const later = await kernels(() => net.forward(x));
    for (const name of ['Conv2D', 'Sub', 'Rsqrt']) expect(later).not.toContain(name); // no plain conv, no BatchNorm arithmetic
    fusion.unfuse();
    expect(await kernels(() => net.forward(x))).toContain('Conv2D');
    tf.dispose([x, plain, fused]);
    net.dispose();
  });

  it('leaves nothing behind after unfuse()', async () => {
    const net = model();
    const x = tf.ones([1, 64, 64, 3]) as tf.Tensor4D;
    await expectNoLeak(() => {
      const fusion = fuseTraced(net, (input) => net.forward(input));
      tf.dispose(net.forward(x)); // folds the weights (kept tensors)
      fusion.unfuse();
    });
    tf.dispose(x);
    net.dispose();
  });

  it('refuses a module in training mode', async () => {
    const net = model().train();
    await expectNoLeak(() => expect(() => fuseTraced(net, (input) => net.forward(input))).toThrow(
      new ValueError('fuseTraced: the module must be in eval mode (call eval() first)'),
    ));
    net.dispose();
  });
});
