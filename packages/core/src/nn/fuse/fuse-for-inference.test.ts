import * as tf from '@tensorflow/tfjs-core';
import { Generator } from '../../generator';
import { BatchNorm2d } from '../batch-norm';
import { Conv2d } from '../conv2d';
import { FrozenBatchNorm2d } from '../frozen-batch-norm2d';
import { Module } from '../module';
import { ReLU } from '../relu';
import { Sequential } from '../sequential';
import { expectAllClose, expectNoLeak, useBackend } from '@residual/test-utils';
import { fuseForInference } from './fuse-for-inference';

/** A ResNet-style block: conv1 → bn1 → relu → conv2 → bn2 (frozen), + downsample, → relu. */
class Block extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly relu: ReLU;
  readonly conv2: Conv2d;
  readonly bn2: FrozenBatchNorm2d;
  readonly downsample: Sequential;

  constructor(gen: Generator) {
    super();
    this.conv1 = this.registerModule('conv1', new Conv2d(4, 8, 3, { padding: 1, bias: false, generator: gen }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(8));
    this.relu = this.registerModule('relu', new ReLU());
    this.conv2 = this.registerModule('conv2', new Conv2d(8, 8, 3, { stride: 2, padding: 1, generator: gen }));
    this.bn2 = this.registerModule('bn2', new FrozenBatchNorm2d(8));
    this.downsample = this.registerModule(
      'downsample',
      new Sequential(new Conv2d(4, 8, 1, { stride: 2, bias: false, generator: gen }), new BatchNorm2d(8)),
    );
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const out = this.bn2.forward(this.conv2.forward(this.relu.forward(this.bn1.forward(this.conv1.forward(x)))));
      return this.relu.forward(tf.add(out, this.downsample.forward(x)));
    });
  }
}

/** Every norm gets non-trivial statistics and affine parameters (torch key names). */
function randomiseNorms(block: Block, gen: Generator): void {
  const dict = new Map<string, tf.Tensor>();
  for (const prefix of ['bn1', 'bn2', 'downsample.1']) {
    dict.set(`${prefix}.weight`, gen.uniform([8], 0.5, 1.5));
    dict.set(`${prefix}.bias`, gen.uniform([8], -0.5, 0.5));
    dict.set(`${prefix}.running_mean`, gen.uniform([8], -0.3, 0.3));
    dict.set(`${prefix}.running_var`, gen.uniform([8], 0.5, 2));
  }
  block.loadStateDict(dict, { strict: false });
  tf.dispose([...dict.values()]);
}

async function kernelNames(f: () => tf.Tensor): Promise<string[]> {
  const info = await tf.profile(f);
  return info.kernels.map((k) => k.name);
}

const count = (names: string[], name: string) => names.filter((n) => n === name).length;

describe('fuseForInference', () => {
  beforeAll(async () => {
    await useBackend();
  });

  let block: Block;
  let x: tf.Tensor4D;
  beforeEach(() => {
    const gen = new Generator(7);
    block = new Block(gen);
    randomiseNorms(block, gen);
    block.eval();
    x = gen.normalTensor([2, 9, 9, 4]) as tf.Tensor4D;
  });
  afterEach(() => {
    fuseForInference(block).unfuse();
    block.dispose();
    x.dispose();
  });

  it('folds each conv → norm pair, and the ReLU after it, into one fused conv with the same result', async () => {
    const expected = block.forward(x);
    const fusion = fuseForInference(block);
    expect(fusion.pairs).toBe(3);
    const traced = block.forward(x); // first call: unfused, learns which norm outputs go to a ReLU
    expectAllClose(traced, expected, { rtol: 0, atol: 0 });
    const names = await kernelNames(() => block.forward(x));
    expect(count(names, 'FusedConv2D')).toBe(3);
    expect(count(names, 'Conv2D')).toBe(0);
    expect(count(names, 'Relu')).toBe(1); // only the one after the residual add
    const fused = block.forward(x);
    // the folded filter W·scale rounds differently from conv-then-normalise (float32)
    expectAllClose(fused, expected, { rtol: 1e-5, atol: 1e-6 });
    tf.dispose([expected, traced, fused]);
  });

  it('leaves the state dict exactly as loaded', () => {
    const before = block.stateDict();
    fuseForInference(block);
    tf.dispose([block.forward(x), block.forward(x)]);
    const after = block.stateDict();
    expect([...after.keys()]).toEqual([...before.keys()]);
    for (const [k, t] of before) expectAllClose(after.get(k) as tf.Tensor, t, { rtol: 0, atol: 0 });
    tf.dispose([...before.values(), ...after.values()]);
  });

  it('runs every module unfused in train mode, and again fused back in eval', async () => {
    fuseForInference(block);
    tf.dispose([block.forward(x)]);
    block.train();
    const names = await kernelNames(() => block.forward(x));
    expect(count(names, 'FusedConv2D')).toBe(0);
    expect(count(names, 'Conv2D')).toBe(3);
    block.eval();
    expect(count(await kernelNames(() => block.forward(x)), 'FusedConv2D')).toBe(3);
  });

  it('is undone by unfuse(), and returns the same handle when called twice', async () => {
    const fusion = fuseForInference(block);
    expect(fuseForInference(block)).toBe(fusion);
    tf.dispose([block.forward(x)]);
    fusion.unfuse();
    expect(Object.prototype.hasOwnProperty.call(block.conv1, 'forward')).toBe(false);
    expect(count(await kernelNames(() => block.forward(x)), 'FusedConv2D')).toBe(0);
  });

  it('normalises a tensor that did not come from its conv as usual', () => {
    fuseForInference(block);
    tf.dispose([block.forward(x), block.forward(x)]);
    const y = tf.randomNormal([1, 3, 3, 8], 0, 1, 'float32', 3);
    const fusedPath = block.bn1.forward(y);
    const own = BatchNorm2d.prototype.forward.call(block.bn1, y);
    expectAllClose(fusedPath, own, { rtol: 0, atol: 0 });
    tf.dispose([y, fusedPath, own]);
  });

  it('leaks no tensors: a forward leaves only the folded weights, which unfuse() frees', async () => {
    const before = tf.memory().numTensors;
    const fusion = fuseForInference(block);
    await expectNoLeak(() => block.forward(x)); // tracing call
    tf.dispose(block.forward(x)); // first fused call folds: a filter and a bias per pair
    expect(tf.memory().numTensors).toBe(before + 2 * fusion.pairs);
    await expectNoLeak(() => block.forward(x));
    fusion.unfuse();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refolds after new weights are loaded', () => {
    fuseForInference(block);
    tf.dispose([block.forward(x), block.forward(x)]);
    randomiseNorms(block, new Generator(99));
    const fused = block.forward(x);
    const unfused = tf.tidy(() => {
      fuseForInference(block).unfuse();
      return block.forward(x);
    });
    expectAllClose(fused, unfused, { rtol: 1e-5, atol: 1e-6 });
    tf.dispose([fused, unfused]);
  });

  it('finds nothing to fold in a model without conv → norm pairs', () => {
    const plain = new Sequential(new Conv2d(4, 4, 1, { generator: new Generator(1) }), new ReLU());
    expect(fuseForInference(plain).pairs).toBe(0);
    plain.dispose();
  });
});
