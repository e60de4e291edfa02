import * as tf from '@tensorflow/tfjs-core';
import { Generator, ShapeError, ValueError } from '@residual/core';
import { expectAllClose, expectNoLeak, useBackend } from '@residual/test-utils';
import { fixture, type Fixture } from '../test/fixture.js';
import { MaskRCNNHeads, renameLegacyMaskHeadKeys } from './mask-rcnn-heads.js';
import { MaskRCNNPredictor } from './mask-rcnn-predictor.js';

function weights(fx: Fixture, prefix: string, keys: string[]): Map<string, tf.Tensor> {
  return new Map(keys.map((k) => [k, fx.get(`${prefix}${k}`)]));
}

function std(t: tf.Tensor): number {
  const v = t.dataSync();
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s / v.length);
}

describe('MaskRCNNHeads and MaskRCNNPredictor', () => {
  let fx: Fixture;
  beforeAll(async () => {
    await useBackend();
    fx = fixture('mask_head');
  });
  afterAll(() => fx.dispose());

  it("have torchvision 0.14's state-dict keys and shapes for the default 256-channel, 91-class configuration", () => {
    const heads = new MaskRCNNHeads(256);
    const pred = new MaskRCNNPredictor(256, 256, 91);
    const sd = new Map([...heads.stateDict(), ...pred.stateDict()]);
    expect([...sd].map(([k, t]) => [k, t.shape])).toEqual(fx.meta('keys'));
    tf.dispose([...sd.values()]);
    heads.dispose();
    pred.dispose();
  });

  it('match torchvision on NHWC RoI features (two layers; one dilated layer) and predict 2× upsampled logits', async () => {
    const a = new MaskRCNNHeads(6, [8, 8], 1);
    const b = new MaskRCNNHeads(6, [8], 2);
    const pred = new MaskRCNNPredictor(8, 8, 5);
    a.loadStateDict(weights(fx, 'w.a.', ['0.0.weight', '0.0.bias', '1.0.weight', '1.0.bias']));
    b.loadStateDict(weights(fx, 'w.b.', ['0.0.weight', '0.0.bias']));
    pred.loadStateDict(weights(fx, 'w.pred.', ['conv5_mask.weight', 'conv5_mask.bias', 'mask_fcn_logits.weight', 'mask_fcn_logits.bias']));
    expect(a.outChannels).toBe(8);
    await expectNoLeak(() => {
      const featA = a.forward(fx.get<tf.Tensor4D>('x'));
      const featB = b.forward(fx.get<tf.Tensor4D>('x'));
      const logits = pred.forward(featA);
      expectAllClose(featA, fx.get('feat.a'));
      expectAllClose(featB, fx.get('feat.b'));
      expectAllClose(logits, fx.get('logits'));
      return [featA, featB, logits];
    });
    [a, b, pred].forEach((m) => m.dispose());
  });

  it("initialise as torchvision: kaiming_normal fan_out weights, zero head biases, default predictor biases", () => {
    const g = new Generator(0);
    const heads = new MaskRCNNHeads(64, [64, 64], 1, { generator: g });
    const pred = new MaskRCNNPredictor(64, 64, 30, { generator: g });
    const sd = new Map([...heads.stateDict(), ...[...pred.stateDict()].map(([k, v]) => [`p.${k}`, v] as [string, tf.Tensor])]);
    const relStd = (k: string, want: number): number => std(sd.get(k) as tf.Tensor) / want;
    expect(relStd('0.0.weight', Math.sqrt(2 / (64 * 9)))).toBeCloseTo(1, 1);
    expect(relStd('1.0.weight', Math.sqrt(2 / (64 * 9)))).toBeCloseTo(1, 1);
    expect(sd.get('0.0.bias')?.dataSync().every((v) => v === 0)).toBe(true);
    expect(relStd('p.conv5_mask.weight', Math.sqrt(2 / (64 * 4)))).toBeCloseTo(1, 1); // fan_out = in·2·2
    expect(relStd('p.mask_fcn_logits.weight', Math.sqrt(2 / 30))).toBeCloseTo(1, 1); // fan_out = classes·1·1
    const bias = sd.get('p.conv5_mask.bias')?.dataSync() as Float32Array;
    expect(Math.max(...bias.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(64 * 4)); // U(±1/√(out·2·2))
    expect(std(sd.get('p.conv5_mask.bias') as tf.Tensor)).toBeGreaterThan(0);
    tf.dispose([...sd.values()]);
    heads.dispose();
    pred.dispose();
  });

  it('rename legacy mask_fcn{i} keys to {i-1}.0.*', () => {
    const t = tf.zeros([1]);
    const out = renameLegacyMaskHeadKeys(new Map([['roi_heads.mask_head.mask_fcn1.weight', t], ['roi_heads.mask_head.mask_fcn4.bias', t], ['x.mask_fcn1.weight', t]]));
    expect([...out.keys()]).toEqual(['roi_heads.mask_head.0.0.weight', 'roi_heads.mask_head.3.0.bias', 'x.mask_fcn1.weight']);
    t.dispose();
  });

  it('reject bad configurations and inputs with messages naming the argument', () => {
    expect(() => new MaskRCNNHeads(8, [])).toThrow(new ValueError('MaskRCNNHeads: layers must be a non-empty list of positive integers, got []'));
    expect(() => new MaskRCNNHeads(8, [8], 0)).toThrow(new ValueError('MaskRCNNHeads: dilation must be a positive integer, got 0'));
    expect(() => new MaskRCNNPredictor(8, 8, 0)).toThrow(new ValueError('MaskRCNNPredictor: numClasses must be a positive integer, got 0'));
    const pred = new MaskRCNNPredictor(4, 4, 3);
    const x = tf.zeros([2, 14, 14, 3]) as tf.Tensor4D;
    expect(() => pred.forward(x)).toThrow(new ShapeError('MaskRCNNPredictor.forward: x must be [R,P,P,4], got [2,14,14,3]'));
    x.dispose();
    pred.dispose();
  });
});
