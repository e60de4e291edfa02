import * as tf from '@tensorflow/tfjs-core';
import { AnchorGenerator, cellAnchors } from '@residual/rpn';
import { expectNoLeak, fixturePath, loadFixture, useBackend } from '@residual/test-utils';

// Fixture: tools/fixtures/rpn.py (torchvision 0.14 AnchorGenerator). Anchors must match exactly.

let fx: Map<string, tf.Tensor>;
beforeAll(async () => {
  await useBackend();
  fx = loadFixture(fixturePath(`${__dirname}/..`, 'anchors.safetensors')).tensors;
});
afterAll(() => tf.dispose([...fx.values()]));

const batch = (h: number, w: number) => ({ tensor: tf.zeros([1, h, w, 3]) as tf.Tensor4D, imageSizes: [[h, w]] as [number, number][] });
const maps = (grids: Array<[number, number]>) => grids.map(([h, w]) => tf.zeros([1, h, w, 2]) as tf.Tensor4D);
const values = (t: tf.Tensor) => [...t.dataSync()];

describe('cellAnchors', () => {
  it("gives torchvision's default tables (round half to even, ratio-major order)", () => {
    [32, 64, 128, 256, 512].forEach((size, i) => expect([...cellAnchors([size], [0.5, 1, 2])]).toEqual(values(fx.get(`default.cell.${i}`)!)));
    expect([...cellAnchors([32], [0.5, 1, 2])]).toEqual([-23, -11, 23, 11, -16, -16, 16, 16, -11, -23, 11, 23]);
  });
});

describe('AnchorGenerator', () => {
  it('matches torchvision for the five default levels of a 64×96 batch', () => {
    const gen = new AnchorGenerator();
    const b = batch(64, 96);
    const f = maps([[16, 24], [8, 12], [4, 6], [2, 3], [1, 2]]);
    const a = gen.forward(b, f);
    expect(a.shape).toEqual([3 * (384 + 96 + 24 + 6 + 2), 4]);
    expect(values(a)).toEqual(values(fx.get('default.anchors')!));
    tf.dispose([a, b.tensor, ...f]);
    gen.dispose();
  });

  it("uses floor(padded size / grid) as stride: 'pool' of an 800×1088 batch gets 61×64", () => {
    const gen = new AnchorGenerator([[512]], [[0.5, 1, 2]]);
    const b = batch(800, 1088);
    const f = maps([[13, 17]]);
    const a = gen.forward(b, f);
    expect(values(a)).toEqual(values(fx.get('pool.anchors')!));
    expect(values(a).slice(17 * 3 * 4, 17 * 3 * 4 + 4)).toEqual([-362, 61 - 181, 362, 61 + 181]);
    tf.dispose([a, b.tensor, ...f]);
    gen.dispose();
  });

  it('matches torchvision for several sizes and ratios per level with half-way roundings', () => {
    const gen = new AnchorGenerator([[10, 23], [45]], [[0.3, 1.7], [1.0, 0.4, 2.5]]);
    expect(gen.numAnchorsPerLocation()).toEqual([4, 3]);
    const b = batch(37, 50);
    const f = maps([[5, 7], [3, 4]]);
    const a = gen.forward(b, f);
    expect(values(a)).toEqual(values(fx.get('custom.anchors')!));
    tf.dispose([a, b.tensor, ...f]);
    gen.dispose();
  });

  it('caches level grids it owns: forward leaks nothing beyond the cache, dispose frees the cache', async () => {
    const gen = new AnchorGenerator([[32]], [[1]]);
    const b = batch(32, 32);
    const f = maps([[4, 4]]);
    const before = tf.memory().numTensors;
    tf.dispose(gen.forward(b, f)); // fills the cache (one grid)
    expect(tf.memory().numTensors).toBe(before + 1);
    await expectNoLeak(() => gen.forward(b, f));
    expect(gen.gridAnchors(0, [4, 4], [8, 8])).toBe(gen.gridAnchors(0, [4, 4], [8, 8]));
    gen.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([b.tensor, ...f]);
  });

  it('rejects mismatched levels and non-positive sizes', () => {
    expect(() => new AnchorGenerator([[32], [64]], [[1]])).toThrow(
      'AnchorGenerator: sizes and aspectRatios must have one entry per level, got 2 and 1',
    );
    expect(() => new AnchorGenerator([[0]])).toThrow('AnchorGenerator: sizes and aspect ratios must be positive numbers, got [0]');
    const gen = new AnchorGenerator();
    const b = batch(32, 32);
    const f = maps([[8, 8]]);
    expect(() => gen.forward(b, f)).toThrow('AnchorGenerator.forward: featureMaps must hold 5 maps (one per sizes entry), got 1');
    tf.dispose([b.tensor, ...f]);
  });
});
