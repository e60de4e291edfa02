import * as tf from '@tensorflow/tfjs-core';
import { FrozenBatchNorm2d, SGD, ShapeError, ValueError } from '@residual/core';
import { expectNoLeak, useBackend } from '@residual/test-utils';
import { BasicBlock, Bottleneck, ResNet, resnet18, resnet50, resnetByName, type ResNetName } from '@residual/resnet';
import { NoDrawGenerator, ScaleGenerator, HashGenerator } from '../test/test-generators.js';

beforeAll(async () => {
  await useBackend();
});

const tiny = (options: ConstructorParameters<typeof ResNet>[2] = {}): ResNet =>
  new ResNet(BasicBlock, [1, 1, 1, 1], { numClasses: 3, generator: new NoDrawGenerator(), ...options });

/** One state-dict entry as a flat array (torch layout). */
function entry(model: ResNet, key: string): number[] {
  const sd = model.stateDict();
  try {
    const t = sd.get(key);
    if (!t) throw new Error(`no key ${key}`);
    return Array.from(t.dataSync());
  } finally {
    tf.dispose([...sd.values()]);
  }
}

const unique = (xs: number[]): number[] => [...new Set(xs)];

describe('ResNet', () => {
  describe('outputShape', () => {
    it('gives channels and strides per stage for BasicBlock and Bottleneck nets', () => {
      const r18 = resnet18({ generator: new NoDrawGenerator() });
      const r50 = resnet50({ generator: new NoDrawGenerator() });
      expect(r18.outputShape()).toEqual({
        layer1: { channels: 64, stride: 4 },
        layer2: { channels: 128, stride: 8 },
        layer3: { channels: 256, stride: 16 },
        layer4: { channels: 512, stride: 32 },
      });
      expect(r50.outputShape()).toEqual({
        layer1: { channels: 256, stride: 4 },
        layer2: { channels: 512, stride: 8 },
        layer3: { channels: 1024, stride: 16 },
        layer4: { channels: 2048, stride: 32 },
      });
      expect([r18.inplanes, r50.inplanes]).toEqual([512, 2048]);
      r18.dispose();
      r50.dispose();
    });

    it('keeps the stride of stages whose stride is replaced by dilation', () => {
      const model = new ResNet(Bottleneck, [1, 1, 1, 1], {
        replaceStrideWithDilation: [false, true, true],
        generator: new NoDrawGenerator(),
      });
      expect(Object.values(model.outputShape()).map((s) => s.stride)).toEqual([4, 8, 8, 8]);
      model.dispose();
    });
  });

  it('returns features whose sizes follow the output strides, for odd input sizes too', () => {
    const model = tiny().eval();
    const x = tf.zeros([1, 33, 47, 3]) as tf.Tensor4D;
    const feats = model.forwardFeatures(x);
    // conv1/maxpool/stages: ⌊(h + 2p − k)/s⌋ + 1 → 17×24, 9×12, 9×12, 5×6, 3×3, 2×2
    expect(Object.values(feats).map((f) => f.shape)).toEqual([
      [1, 9, 12, 64],
      [1, 5, 6, 128],
      [1, 3, 3, 256],
      [1, 2, 2, 512],
    ]);
    tf.dispose([x, feats]);
    model.dispose();
  });

  describe('initialisation (torchvision)', () => {
    let model: ResNet;
    beforeAll(() => {
      model = new ResNet(Bottleneck, [1, 1, 1, 1], { numClasses: 10, generator: new ScaleGenerator() });
    });
    afterAll(() => model.dispose());

    it('draws every conv weight with He normal, fan_out, relu: std √(2/(out·kh·kw))', () => {
      expect(unique(entry(model, 'conv1.weight'))).toEqual([Math.fround(Math.sqrt(2 / (64 * 49)))]);
      expect(unique(entry(model, 'layer2.0.conv2.weight'))).toEqual([Math.fround(Math.sqrt(2 / (128 * 9)))]);
      expect(unique(entry(model, 'layer3.0.conv3.weight'))).toEqual([Math.fround(Math.sqrt(2 / 1024))]);
      expect(unique(entry(model, 'layer4.0.downsample.0.weight'))).toEqual([Math.fround(Math.sqrt(2 / 2048))]);
    });

    it("keeps torch's default Linear init for fc: U(±1/√in) for weight and bias", () => {
      const bound = Math.fround(1 / Math.sqrt(2048));
      expect([unique(entry(model, 'fc.weight')), unique(entry(model, 'fc.bias'))]).toEqual([[bound], [bound]]);
    });

    it('sets norm weights to 1 and biases to 0', () => {
      expect(unique(entry(model, 'layer1.0.bn3.weight'))).toEqual([1]);
      expect(unique(entry(model, 'layer1.0.bn3.bias'))).toEqual([0]);
    });
  });

  it.each([
    ['Bottleneck', 'bn3', Bottleneck],
    ['BasicBlock', 'bn2', BasicBlock],
  ] as const)('zeroInitResidual zeroes the last norm weight of every %s (%s) and nothing else', (_name, last, block) => {
    for (const normLayer of [undefined, (c: number) => new FrozenBatchNorm2d(c)]) {
      const model = new ResNet(block, [2, 1, 1, 1], { zeroInitResidual: true, normLayer, generator: new NoDrawGenerator() });
      for (const key of ['layer1.0', 'layer1.1', 'layer4.0']) {
        expect([key, unique(entry(model, `${key}.${last}.weight`))]).toEqual([key, [0]]);
        expect([key, unique(entry(model, `${key}.bn1.weight`))]).toEqual([key, [1]]);
      }
      model.dispose();
    }
  });

  describe('builders', () => {
    it.each([
      ['resnet18', 11689512, [64, 64, 3, 3]],
      ['resnet34', 21797672, [64, 64, 3, 3]],
      ['resnet50', 25557032, [64, 64, 3, 3]],
      ['resnext50_32x4d', 25028904, [128, 4, 3, 3]],
      ['wide_resnet50_2', 68883240, [128, 128, 3, 3]],
    ] as Array<[ResNetName, number, number[]]>)(
      "%s has torchvision's %d parameters and its layer1.0.conv2 [width, width/groups, 3, 3]",
      (name, count, shape) => {
        const model = resnetByName(name, { generator: new NoDrawGenerator() });
        expect(model.parameters().reduce((n, p) => n + p.size, 0)).toBe(count);
        const [kh, kw, inPerGroup, out] = model.layer1.get(0).namedParameters().get('conv2.weight')?.shape ?? [];
        expect([out, inPerGroup, kh, kw]).toEqual(shape);
        model.dispose();
      },
    );

    it('reject unknown names', () => {
      expect(() => resnetByName('resnet19' as ResNetName)).toThrow(
        new ValueError(
          'resnetByName: unknown name "resnet19", expected one of resnet18, resnet34, resnet50, resnet101, resnet152, ' +
            'resnext50_32x4d, resnext101_32x8d, resnext101_64x4d, wide_resnet50_2, wide_resnet101_2',
        ),
      );
    });
  });

  describe('bad arguments', () => {
    it('rejects layers that are not 4 positive integers', () => {
      expect(() => new ResNet(BasicBlock, [2, 2, 2])).toThrow(
        new ValueError('ResNet: layers must be 4 positive integers (blocks per stage), got [2,2,2]'),
      );
      expect(() => new ResNet(BasicBlock, [2, 0, 2, 2])).toThrow(ValueError);
    });

    it('rejects a replaceStrideWithDilation that is not 3 flags', () => {
      const flags = [true, true] as unknown as [boolean, boolean, boolean];
      expect(() => tiny({ replaceStrideWithDilation: flags })).toThrow(
        new ValueError('ResNet: replaceStrideWithDilation must have 3 entries (layer2..layer4), got 2'),
      );
    });

    it('rejects a non-positive numClasses', () => {
      expect(() => tiny({ numClasses: 0 })).toThrow(new ValueError('ResNet: numClasses must be a positive integer, got 0'));
    });

    it('rejects dilation in BasicBlock nets and groups/width other than 1/64, as torchvision', () => {
      // The first block of a dilated stage still uses the previous dilation (1), the second 2.
      expect(() => new ResNet(BasicBlock, [1, 1, 1, 2], { replaceStrideWithDilation: [false, false, true], generator: new NoDrawGenerator() })).toThrow(
        new ValueError('BasicBlock: dilation > 1 is not supported, got 2'),
      );
      expect(() => tiny({ groups: 2 })).toThrow(
        new ValueError('BasicBlock: only supports groups 1 and baseWidth 64, got groups 2, baseWidth 64'),
      );
    });

    it('rejects images that are not float32 NHWC [N,H,W,3]', () => {
      const model = tiny();
      const nchw = tf.zeros([1, 3, 32, 32]) as tf.Tensor4D;
      const ints = tf.zeros([1, 32, 32, 3], 'int32') as tf.Tensor4D;
      expect(() => model.forward(nchw)).toThrow(new ShapeError('ResNet.forward: x must be NHWC images [N,H,W,3], got [1,3,32,32]'));
      expect(() => model.forwardFeatures(nchw)).toThrow(
        new ShapeError('ResNet.forwardFeatures: x must be NHWC images [N,H,W,3], got [1,3,32,32]'),
      );
      expect(() => model.forward(ints)).toThrow(new ValueError('ResNet.forward: x must be float32, got int32'));
      tf.dispose([nchw, ints]);
      model.dispose();
    });
  });

  describe('memory', () => {
    let model: ResNet;
    let x: tf.Tensor4D;
    beforeAll(() => {
      model = tiny({ generator: new HashGenerator(1) });
      x = new HashGenerator(7).uniform([2, 32, 32, 3]) as tf.Tensor4D;
    });
    afterAll(() => {
      model.dispose();
      x.dispose();
    });

    it.each([['eval'], ['train']])('forward and forwardFeatures in %s mode leave only their outputs', async (mode) => {
      if (mode === 'eval') model.eval();
      else model.train();
      const logits = await expectNoLeak(() => model.forward(x));
      expect(logits.shape).toEqual([2, 3]);
      await expectNoLeak(() => model.forwardFeatures(x));
      await expectNoLeak(() => tf.variableGrads(() => tf.sum(model.forward(x)) as tf.Scalar));
    });
  });

  it('trains on wasm: SGD on a two-class stripes task lowers the loss', () => {
    const model = tiny({ numClasses: 2, generator: new HashGenerator(3) }).train();
    // Class 0: horizontal stripes, class 1: vertical stripes (16×16, 4 images, phase varies).
    const { x, y } = tf.tidy(() => {
      const idx = tf.range(0, 16);
      const images: tf.Tensor[] = [];
      for (let i = 0; i < 4; i++) {
        const wave = tf.sin(tf.mul(tf.add(idx, i), Math.PI / 2)); // period 4, phase i
        const grid = i % 2 === 0 ? tf.tile(tf.reshape(wave, [16, 1]), [1, 16]) : tf.tile(tf.reshape(wave, [1, 16]), [16, 1]);
        images.push(tf.tile(tf.reshape(grid, [16, 16, 1]), [1, 1, 3]));
      }
      return { x: tf.stack(images) as tf.Tensor4D, y: tf.oneHot(tf.tensor1d([0, 1, 0, 1], 'int32'), 2) };
    });
    const optimizer = new SGD(model.trainableParameters(), { lr: 0.02, momentum: 0.9 });
    const losses: number[] = [];
    for (let step = 0; step < 5; step++) {
      const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.forward(x)) as tf.Scalar);
      losses.push(value.dataSync()[0]);
      optimizer.step(grads);
      tf.dispose([value, grads]);
    }
    expect(losses[4]).toBeLessThan(0.5 * losses[0]);
    optimizer.dispose();
    model.dispose();
    tf.dispose([x, y]);
  });
});
