import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, ValueError } from '@residual/core';
import { expectNoLeak, useBackend } from '@residual/test-utils';
import { CifarBasicBlock, cifarResnet, type CifarShortcut } from '@residual/resnet';
import { HashGenerator, NoDrawGenerator, ScaleGenerator } from '../test/test-generators.js';

beforeAll(async () => {
  await useBackend();
});

const countParameters = (m: { parameters(): tf.Variable[] }): number => m.parameters().reduce((n, p) => n + p.size, 0);

/** A block whose convs are zero: in eval mode (BN = identity) its output is relu(shortcut(x)). */
function zeroConvBlock(inPlanes: number, planes: number, stride: number, shortcut: CifarShortcut): CifarBasicBlock {
  const block = new CifarBasicBlock(inPlanes, planes, { stride, shortcut, generator: new NoDrawGenerator() });
  return block.eval();
}

describe('cifarResnet', () => {
  it.each([
    [20, 269722],
    [32, 464154],
    [56, 853018],
    [110, 1727962],
  ])('ResNet-%d has the paper\'s parameter count (%d, as the torch reference)', (depth, count) => {
    const model = cifarResnet(depth, { generator: new NoDrawGenerator() });
    expect(countParameters(model)).toBe(count);
    model.dispose();
  });

  it('adds the projection parameters for option B only, and plain nets equal option A in size', () => {
    const b = cifarResnet(20, { shortcut: 'B', generator: new NoDrawGenerator() });
    const plain = cifarResnet(20, { plain: true, generator: new NoDrawGenerator() });
    expect([countParameters(b), countParameters(plain)]).toEqual([272474, 269722]);
    expect([...b.namedParameters().keys()].filter((k) => k.includes('shortcut'))).toEqual([
      'layer2.0.shortcut.0.weight',
      'layer2.0.shortcut.1.weight',
      'layer2.0.shortcut.1.bias',
      'layer3.0.shortcut.0.weight',
      'layer3.0.shortcut.1.weight',
      'layer3.0.shortcut.1.bias',
    ]);
    b.dispose();
    plain.dispose();
  });

  it('maps [N,32,32,3] images to [N,numClasses] logits without leaking, in train and eval mode', async () => {
    const model = cifarResnet(8, { numClasses: 4, generator: new HashGenerator(0) });
    const x = new HashGenerator(1).uniform([2, 32, 32, 3]) as tf.Tensor4D;
    const train = await expectNoLeak(() => model.train().forward(x));
    const evalLogits = await expectNoLeak(() => model.eval().forward(x));
    expect([train.shape, evalLogits.shape]).toEqual([
      [2, 4],
      [2, 4],
    ]);
    x.dispose();
    model.dispose();
  });

  it("initialises conv and linear weights He normal with torch's defaults (fan_in, gain √2), as the reference", () => {
    const model = cifarResnet(8, { generator: new ScaleGenerator() });
    const sd = model.stateDict();
    const values = (k: string): number[] => [...new Set(Array.from((sd.get(k) as tf.Tensor).dataSync()))];
    expect(values('conv1.weight')).toEqual([Math.fround(Math.sqrt(2 / 27))]);
    expect(values('layer3.0.conv2.weight')).toEqual([Math.fround(Math.sqrt(2 / (64 * 9)))]);
    expect(values('linear.weight')).toEqual([Math.fround(Math.sqrt(2 / 64))]);
    expect(values('linear.bias')).toEqual([Math.fround(1 / 8)]); // default U(±1/√64)
    tf.dispose([...sd.values()]);
    model.dispose();
  });

  it('rejects depths that are not 6n+2 and unknown shortcut types', () => {
    expect(() => cifarResnet(21)).toThrow(
      new ValueError('cifarResnet: depth must be 6n+2 with n >= 1 (8, 20, 32, 44, 56, 110, 1202, …), got 21'),
    );
    expect(() => cifarResnet(2)).toThrow(ValueError);
    expect(() => cifarResnet(20, { shortcut: 'C' as 'A' })).toThrow(new ValueError("cifarResnet: shortcut must be 'A' or 'B', got C"));
  });

  it('rejects images that are not NHWC [N,H,W,3]', () => {
    const model = cifarResnet(8, { generator: new NoDrawGenerator() });
    const x = tf.zeros([1, 3, 32, 32]) as tf.Tensor4D;
    expect(() => model.forward(x)).toThrow(new ShapeError('CifarResNet.forward: x must be NHWC images [N,H,W,3], got [1,3,32,32]'));
    x.dispose();
    model.dispose();
  });
});

describe('CifarBasicBlock shortcuts', () => {
  // x [1,3,3,2]: value = 10·row + col + 100·channel, so every output cell names its source.
  const input = (): tf.Tensor4D =>
    tf.tidy(() => {
      const v = [];
      for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) for (let ch = 0; ch < 2; ch++) v.push(10 * r + c + 100 * ch);
      return tf.tensor4d(v, [1, 3, 3, 2]);
    });

  it('option A subsamples x[::2, ::2] and zero-pads the new channels on both sides', () => {
    const block = zeroConvBlock(2, 4, 2, 'A');
    const x = input();
    const y = block.forward(x);
    // ⌈3/2⌉ = 2 rows/cols (rows 0, 2); channels [0, c0, c1, 0]
    expect(y.shape).toEqual([1, 2, 2, 4]);
    expect(Array.from(y.dataSync())).toEqual([0, 0, 100, 0, 0, 2, 102, 0, 0, 20, 120, 0, 0, 22, 122, 0]);
    tf.dispose([x, y]);
    block.dispose();
  });

  it('option A keeps the identity when the shape does not change', () => {
    const block = zeroConvBlock(2, 2, 1, 'A');
    const x = input();
    const y = block.forward(x);
    expect(Array.from(y.dataSync())).toEqual(Array.from(x.dataSync()));
    tf.dispose([x, y]);
    block.dispose();
  });

  it('the plain block has no shortcut: zero convs give zero output', () => {
    const block = zeroConvBlock(2, 2, 1, 'none');
    const x = input();
    const y = block.forward(x);
    expect(Array.from(y.dataSync())).toEqual(new Array(18).fill(0));
    tf.dispose([x, y]);
    block.dispose();
  });
});
