import * as tf from '@tensorflow/tfjs-core';
import { Generator, roiAlign } from '@residual/core';
import { MultiScaleRoIAlign } from '@residual/faster-rcnn';
import { expectNoLeak, useBackend } from '@residual/test-utils';
import { hostMultiScaleRoiAlign, hostRoiAlign } from './host-roi-align.js';
import type { HostTensor } from './onnx-session.js';

// The engine's host RoIAlign against core's roiAlign (the tfjs path) on the same random inputs: the
// weights are the same float32 numbers, only the summation order differs, so 1e-5 is ample.
const gen = new Generator(7);
let input: tf.Tensor4D; // [2,9,11,3] NHWC
let host: HostTensor;
beforeAll(async () => {
  await useBackend();
  input = gen.normalTensor([2, 9, 11, 3]) as tf.Tensor4D;
  host = { data: input.dataSync() as Float32Array, shape: [...input.shape] };
});
afterAll(() => input.dispose());

// x1,y1,x2,y2 in input pixels (spatial scale 0.5 maps them onto the 9×11 map) and the image of each.
const BOXES = [
  [2, 3, 14, 12], // inside
  [0, 0, 22, 18], // the whole map, borders included
  [-6, -4, 5, 7], // across the top-left border
  [16, 12, 30, 26], // across the bottom-right border
  [8, 8, 8, 8], // zero size
  [40, 40, 60, 60], // outside the image
  [21.5, 17.5, 21.9, 17.9], // a sliver at the far corner
];
const IMAGE = [0, 1, 0, 1, 0, 1, 1];

function both(outputSize: [number, number], samplingRatio: number, aligned: boolean): [Float32Array, Float32Array] {
  const want = tf.tidy(() => {
    const rois = tf.tensor2d(BOXES.map((b, i) => [IMAGE[i], ...b]));
    return roiAlign(input, rois, outputSize, 0.5, samplingRatio, aligned).dataSync() as Float32Array;
  });
  const got = new Float32Array(want.length);
  hostRoiAlign(host, BOXES.flat(), IMAGE, { outputSize, spatialScale: 0.5, samplingRatio, aligned }, got);
  return [got, want];
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

describe('hostRoiAlign', () => {
  it.each([
    [[3, 3], 2, false],
    [[3, 3], 2, true],
    [[2, 4], 0, false],
    [[2, 4], 0, true],
    [[5, 5], 1, false],
  ] as Array<[[number, number], number, boolean]>)('equals core roiAlign: output %j, sampling ratio %i, aligned %s', (outputSize, ratio, aligned) => {
    const [got, want] = both(outputSize, ratio, aligned);
    expect(got.length).toBe(BOXES.length * outputSize[0] * outputSize[1] * 3);
    expect(maxDiff(got, want)).toBeLessThanOrEqual(1e-5);
  });

  it('gives zeros for a box outside the image and non-zeros for one inside', () => {
    const [got] = both([3, 3], 2, false);
    const row = (k: number): Float32Array => got.subarray(k * 27, (k + 1) * 27);
    expect(row(5).every((v) => v === 0)).toBe(true);
    expect(row(0).some((v) => v !== 0)).toBe(true);
  });

  it('writes row rowOf[k] of out for RoI k', () => {
    const out = new Float32Array(3 * 4 * 3).fill(NaN);
    hostRoiAlign(host, [2, 3, 14, 12], [0], { outputSize: [2, 2], spatialScale: 0.5, samplingRatio: 2, aligned: false }, out, [2]);
    expect(out.subarray(0, 24).every(Number.isNaN)).toBe(true);
    expect(out.subarray(24).every(Number.isFinite)).toBe(true);
  });

  it('rejects a batch index outside the input, naming the RoI', () => {
    const out = new Float32Array(12);
    expect(() => hostRoiAlign(host, [0, 0, 4, 4], [2], { outputSize: [2, 2], spatialScale: 1, samplingRatio: 2, aligned: false }, out)).toThrow(
      'hostRoiAlign: RoI 0 has batch index 2, expected an integer in [0, 1]',
    );
  });
});

describe('hostMultiScaleRoiAlign', () => {
  it("equals MultiScaleRoIAlign.forward (each box from its level, box order kept), making no tensors", async () => {
    const pooler = new MultiScaleRoIAlign(['0', '1'], 3, 2, { canonicalScale: 16, canonicalLevel: 2 });
    const maps = [gen.normalTensor([2, 16, 16, 4]), gen.normalTensor([2, 8, 8, 4])] as tf.Tensor4D[];
    const boxes = [
      [[1, 2, 9, 8], [0, 0, 60, 60], [30, 30, 34, 36]], // small (level 0), large (level 1), small
      [[10, 4, 50, 40], [-3, -3, 5, 5]],
    ];
    const sizes: Array<[number, number]> = [[64, 64], [60, 62]];
    const want = tf.tidy(() => {
      const features = new Map(maps.map((m, i) => [String(i), m]));
      return pooler.forward(features, boxes.map((b) => tf.tensor2d(b)), sizes).dataSync() as Float32Array;
    });
    const hostMaps = maps.map((m) => ({ data: m.dataSync() as Float32Array, shape: [...m.shape] }));
    const got = await expectNoLeak(() => hostMultiScaleRoiAlign(pooler, hostMaps, boxes.map((b) => Float32Array.from(b.flat())), sizes));
    expect(got.shape).toEqual([5, 3, 3, 4]);
    expect(maxDiff(got.data, want)).toBeLessThanOrEqual(1e-5);
    tf.dispose(maps);
  });

  it('returns [0,outH,outW,C] for no boxes', () => {
    const pooler = new MultiScaleRoIAlign(['0'], 7, 2);
    const got = hostMultiScaleRoiAlign(pooler, [{ data: new Float32Array(2 * 4 * 4), shape: [1, 4, 4, 2] }], [new Float32Array(0)], [[16, 16]]);
    expect(got.shape).toEqual([0, 7, 7, 2]);
  });
});
