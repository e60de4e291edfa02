import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, ValueError } from '@residual/core';
import { expectAllClose, expectNoLeak, useBackend } from '@residual/test-utils';
import { fixture, type Fixture } from '../test/fixture.js';
import { MultiScaleRoIAlign, mapLevels } from './multi-scale-roi-align.js';

describe('MultiScaleRoIAlign', () => {
  let fx: Fixture;
  let features: Map<string, tf.Tensor4D>;
  let boxes: tf.Tensor2D[];
  let imageSizes: Array<[number, number]>;
  beforeAll(async () => {
    await useBackend();
    fx = fixture('poolers');
    features = new Map(['0', '1', '2', '3', 'pool'].map((k) => [k, fx.get<tf.Tensor4D>(`feat.${k}`)]));
    boxes = [fx.get<tf.Tensor2D>('boxes.0'), fx.get<tf.Tensor2D>('boxes.1')];
    imageSizes = fx.meta('image_sizes');
  });
  afterAll(() => fx.dispose());

  it('maps box sizes to levels as torchvision LevelMapper (√area 112 → level 3, just below → level 2)', () => {
    const all = tf.concat(boxes, 0);
    expect(Array.from(mapLevels(all.dataSync(), 2, 5))).toEqual(Array.from(fx.get('levels').dataSync()));
    expect(Array.from(mapLevels([0, 0, 111.95, 111.95, 0, 0, 112, 112, 0, 0, 224, 224, 0, 0, 447.5, 447.5, 0, 0, 448, 448, 0, 0, 2000, 2000], 2, 5)))
      .toEqual([0, 1, 2, 2, 3, 3]);
    all.dispose();
  });

  it('pools each box from its level and returns rows in box order, as torchvision', async () => {
    const pooler = new MultiScaleRoIAlign(['0', '1', '2', '3'], 7, 2);
    await expectNoLeak(() => {
      const out = pooler.forward(features, boxes, imageSizes);
      expect(out.shape).toEqual([23, 7, 7, 3]);
      expectAllClose(out, fx.get('pooled'));
      return out;
    });
    expect(pooler.levelScales).toEqual(fx.meta('scales'));
  });

  it('uses a single level directly (adaptive sampling, rectangular output)', () => {
    const pooler = new MultiScaleRoIAlign(['0'], [5, 4], 0);
    const out = pooler.forward(features, boxes, imageSizes);
    expectAllClose(out, fx.get('pooled_single'));
    out.dispose();
  });

  it('passes gradients back to the features', () => {
    const pooler = new MultiScaleRoIAlign(['0', '1', '2', '3'], 7, 2);
    const maps = [...features.values()].slice(0, 4);
    const grads = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor) =>
      tf.sum(pooler.forward(new Map([['0', a], ['1', b], ['2', c], ['3', d]]) as Map<string, tf.Tensor4D>, boxes, imageSizes)),
    )(maps);
    // every level receives some boxes in this fixture, so every map gets a non-zero gradient
    expect(grads.map((g) => tf.sum(tf.abs(g)).dataSync()[0] > 0)).toEqual([true, true, true, true]);
    tf.dispose(grads);
  });

  it('rejects maps it does not know and malformed boxes', () => {
    const pooler = new MultiScaleRoIAlign(['p2']);
    expect(() => pooler.forward(features, boxes, imageSizes)).toThrow(
      new ValueError('MultiScaleRoIAlign.forward: features hold none of [p2], got [0,1,2,3,pool]'),
    );
    const bad = tf.zeros([3, 5]) as tf.Tensor2D;
    expect(() => new MultiScaleRoIAlign().forward(features, [bad], imageSizes)).toThrow(
      new ShapeError('MultiScaleRoIAlign.forward: boxes[0] must be [K,4], got [3,5]'),
    );
    bad.dispose();
  });
});
