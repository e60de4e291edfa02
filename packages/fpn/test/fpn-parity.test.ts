import * as tf from '@tensorflow/tfjs-core';
import {
  FeaturePyramidNetwork,
  LastLevelMaxPool,
  LastLevelP6P7,
  nearestSourceIndices,
  type ExtraFpnBlock,
} from '@residual/fpn';
import { expectAllClose, expectNoLeak, fixturePath, loadFixture, maxAbsDiff, useBackend } from '@residual/test-utils';

// Fixtures: tools/fixtures/fpn.py (torchvision 0.14). Tolerance 1e-5 relative (atol 1e-5: two
// convs of float32 sums whose order differs from torch's).

const dir = `${__dirname}/..`;
let fixture: Map<string, tf.Tensor>;
let meta: Record<string, string>;

beforeAll(async () => {
  await useBackend();
  ({ tensors: fixture, metadata: meta } = loadFixture(fixturePath(dir, 'fpn.safetensors')));
});
afterAll(() => {
  for (const t of fixture.values()) t.dispose();
});

function get(key: string): tf.Tensor4D {
  const t = fixture.get(key);
  if (!t) throw new Error(`fixture has no "${key}"`);
  return t as tf.Tensor4D;
}

function build(prefix: string, inChannelsList: number[], extraBlocks: ExtraFpnBlock): FeaturePyramidNetwork {
  const fpn = new FeaturePyramidNetwork({ inChannelsList, outChannels: 6, extraBlocks });
  const keys = JSON.parse(meta[`${prefix}.keys`]) as Array<[string, number[]]>;
  expect([...fpn.stateDict().keys()]).toEqual(keys.map(([k]) => k));
  fpn.loadStateDict(new Map(keys.map(([k]) => [k, get(`${prefix}.sd.${k}`)])));
  return fpn;
}

function inputs(prefix: string, n: number): Map<string, tf.Tensor4D> {
  return new Map(['a', 'b', 'c'].slice(0, n).map((k) => [k, get(`${prefix}.in.${k}`)]));
}

describe('nearestSourceIndices', () => {
  let nearest: Map<string, tf.Tensor>;
  beforeAll(() => {
    nearest = loadFixture(fixturePath(dir, 'nearest.safetensors')).tensors;
  });
  afterAll(() => tf.dispose([...nearest.values()]));
  const torchIndices = (i: number, o: number): number[] => [...nearest.get(`src.${i}_${o}`)!.dataSync()];

  it("equals torch's F.interpolate(mode='nearest') for every size pair in 1..9 → 1..20", () => {
    for (let i = 1; i <= 9; i++) {
      for (let o = 1; o <= 20; o++) expect([i, o, [...nearestSourceIndices(i, o)]]).toEqual([i, o, torchIndices(i, o)]);
    }
  });

  it('is what tf.image.resizeNearestNeighbor(alignCorners=false, halfPixelCenters=false) computes too', () => {
    const mismatches: string[] = [];
    for (let i = 1; i <= 9; i++) {
      for (let o = 1; o <= 20; o++) {
        const rows = tf.tidy(() =>
          tf.image.resizeNearestNeighbor(tf.reshape(tf.range(0, i), [1, i, 1, 1]) as tf.Tensor4D, [o, 1], false, false).dataSync(),
        );
        if ([...rows].join() !== torchIndices(i, o).join()) mismatches.push(`${i}→${o}`);
      }
    }
    expect(mismatches).toEqual([]);
  });
});

describe('FeaturePyramidNetwork', () => {
  let plain: FeaturePyramidNetwork;
  beforeAll(() => {
    plain = build('plain', [4, 8, 12], new LastLevelMaxPool());
  });
  afterAll(() => plain.dispose());

  it('matches torchvision on odd sizes with LastLevelMaxPool (names a, b, c, pool)', () => {
    const out = plain.forward(inputs('plain', 3));
    expect([...out.keys()]).toEqual(['a', 'b', 'c', 'pool']);
    expect(out.get('pool')!.shape).toEqual([2, 2, 3, 6]);
    for (const [k, t] of out) expectAllClose(t, get(`plain.out.${k}`), { rtol: 1e-5, atol: 1e-5 });
    for (const t of out.values()) t.dispose();
  });

  it('matches torchvision where the top-down ratio is not 2 (10×6 ← 6×4 ← 4×3)', () => {
    const out = plain.forward(inputs('odd', 3));
    for (const [k, t] of out) expectAllClose(t, get(`odd.out.${k}`), { rtol: 1e-5, atol: 1e-5 });
    for (const t of out.values()) t.dispose();
  });

  it('back-propagates to its inputs as torch does (nearest upsampling and pool included)', () => {
    const x = inputs('plain', 3);
    const names = [...x.keys()];
    const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
      const out = plain.forward(new Map([['a', a], ['b', b], ['c', c]]) as Map<string, tf.Tensor4D>);
      return tf.addN([...out].map(([k, t]) => tf.sum(tf.mul(t, get(`plain.lw.${k}`)))));
    })(names.map((k) => x.get(k)!));
    names.forEach((k, i) => expectAllClose(grads[i], get(`plain.grad.${k}`), { rtol: 1e-5, atol: 1e-5 }));
    tf.dispose(grads);
  });

  it('frees every intermediate tensor', async () => {
    await expectNoLeak(() => plain.forward(inputs('plain', 3)));
  });

  it('rejects a map with the wrong channel count, naming the level', () => {
    const bad = new Map(inputs('plain', 3));
    bad.set('b', get('plain.in.a'));
    expect(() => plain.forward(bad)).toThrow('FeaturePyramidNetwork.forward: map 1 must be NHWC [2,H,W,8], got [2,13,17,4]');
  });

  it('rejects the wrong number of maps', () => {
    expect(() => plain.forward(inputs('plain', 2))).toThrow(
      'FeaturePyramidNetwork.forward: x must hold 3 maps (one per inChannelsList entry), got 2',
    );
  });

  it('rejects empty or non-integer channel lists', () => {
    expect(() => new FeaturePyramidNetwork({ inChannelsList: [], outChannels: 4 })).toThrow(
      'FeaturePyramidNetwork: inChannelsList must be positive integers (one per level), got []',
    );
    expect(() => new FeaturePyramidNetwork({ inChannelsList: [4, 0], outChannels: 4 })).toThrow(
      'FeaturePyramidNetwork: inChannelsList must be positive integers (one per level), got [4,0]',
    );
  });
});

describe('LastLevelP6P7', () => {
  it('feeds P5 into p6 when inChannels equals outChannels (torchvision use_P5)', () => {
    const fpn = build('p5', [4, 6], new LastLevelP6P7(6, 6));
    expect((fpn.extraBlocks as LastLevelP6P7).useP5).toBe(true);
    const out = fpn.forward(inputs('p5', 2));
    expect([...out.keys()]).toEqual(['a', 'b', 'p6', 'p7']);
    for (const [k, t] of out) expectAllClose(t, get(`p5.out.${k}`), { rtol: 1e-5, atol: 1e-5 });
    tf.dispose([...out.values()]);
    fpn.dispose();
  });

  it('feeds C5 into p6 otherwise, with keys extra_blocks.p6.* / p7.*', async () => {
    const fpn = build('c5', [4, 8], new LastLevelP6P7(8, 6));
    expect([...fpn.namedParameters().keys()].filter((k) => k.startsWith('extra_blocks'))).toEqual([
      'extra_blocks.p6.weight',
      'extra_blocks.p6.bias',
      'extra_blocks.p7.weight',
      'extra_blocks.p7.bias',
    ]);
    const out = fpn.forward(inputs('c5', 2));
    for (const [k, t] of out) expectAllClose(t, get(`c5.out.${k}`), { rtol: 1e-5, atol: 1e-5 });
    // Proof that the C5 path matters: feeding P5 instead would not match.
    expect(maxAbsDiff(out.get('p6')!, get('p5.out.p6'))).toBeGreaterThan(1e-3);
    tf.dispose([...out.values()]);
    await expectNoLeak(() => fpn.forward(inputs('c5', 2)));
    fpn.dispose();
  });
});
