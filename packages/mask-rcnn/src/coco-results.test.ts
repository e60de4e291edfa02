import * as tf from '@tensorflow/tfjs-core';
import { StateDictError, ValueError, compressRle, maskToRle, rleToMask } from '@residual/core';
import { expectNoLeak, useBackend } from '@residual/test-utils';
import { fixture } from '../test/fixture.js';
import type { KeyList } from '../test/formula-weights.js';
import { toCocoResults } from './coco-results.js';
import { inferArchitecture } from './infer-architecture.js';

describe('toCocoResults', () => {
  beforeAll(async () => {
    await useBackend();
  });

  it('writes COCO result rows: [x,y,w,h] boxes, mapped category ids, compressed RLE of masks > 0.5', async () => {
    const det = {
      boxes: tf.tensor2d([[1, 2, 4, 6], [0, 0, 5.5, 3]]),
      scores: tf.tensor1d([0.9, 0.25]),
      labels: tf.tensor1d([1, 2], 'int32'),
      masks: tf.tensor3d([[[0.2, 0.6, 0.51], [0.5, 0.9, 0]], [[1, 1, 1], [0, 0, 0.7]]]),
    };
    await expectNoLeak(() => {
      const rows = toCocoResults([det], [42], [0, 7, 9]);
      expect(rows.map((r) => ({ ...r, segmentation: undefined }))).toEqual([
        { image_id: 42, category_id: 7, bbox: [1, 2, 3, 4], score: Math.fround(0.9), segmentation: undefined },
        { image_id: 42, category_id: 9, bbox: [0, 0, 5.5, 3], score: Math.fround(0.25), segmentation: undefined },
      ]);
      const first = rows[0].segmentation;
      expect(first).toEqual({ size: [2, 3], counts: compressRle(maskToRle([0, 1, 1, 0, 1, 0], [2, 3])).counts });
      expect(typeof first?.counts).toBe('string');
      const decoded = rleToMask(rows[1].segmentation as { size: [number, number]; counts: string });
      expect(Array.from(decoded.dataSync())).toEqual([1, 1, 1, 0, 0, 1]);
      return decoded;
    });
    const rle = toCocoResults([{ ...det, masks: [{ size: [2, 3], counts: 'abc' }, { size: [2, 3], counts: 'xyz' }] } as never], [1]);
    expect(rle.map((r) => r.segmentation?.counts)).toEqual(['abc', 'xyz']);
    expect(toCocoResults([{ boxes: det.boxes, scores: det.scores, labels: det.labels }], [3])[1]).toEqual(
      { image_id: 3, category_id: 2, bbox: [0, 0, 5.5, 3], score: Math.fround(0.25) },
    );
    expect(() => toCocoResults([det], [])).toThrow(new ValueError('toCocoResults: imageIds must have one entry per image (1), got 0'));
    expect(() => toCocoResults([det], [1], [0, 7])).toThrow(new ValueError('toCocoResults: no category id for label 2'));
    tf.dispose(Object.values(det));
  });
});

describe('inferArchitecture', () => {
  // The key list of a torchvision model with placeholder tensors, except the shapes inferArchitecture reads.
  function dictOf(keys: KeyList): Map<string, tf.Tensor> {
    const placeholder = tf.scalar(0);
    return new Map(keys.map(([k, s]) => [k, /conv2\.weight$|cls_score\.weight$/.test(k) ? tf.zeros(s) : placeholder]));
  }

  it.each([
    ['e2e_r50', { arch: 'maskrcnn', backbone: 'resnet50', numClasses: 91 }],
    ['e2e_r18', { arch: 'maskrcnn', backbone: 'resnet18', numClasses: 5 }],
  ])('reads the detector, backbone and classes of torchvision state dict %s', (name, want) => {
    const fx = fixture(name);
    const dict = dictOf(fx.meta<KeyList>('keys'));
    expect(inferArchitecture(dict)).toEqual(want);
    const faster = new Map([...dict].filter(([k]) => !k.includes('mask_')));
    expect(inferArchitecture(faster).arch).toBe('fasterrcnn');
    const broken = new Map([...dict].filter(([k]) => !k.startsWith('backbone.body.layer3.1.')));
    expect(() => inferArchitecture(broken)).toThrow(StateDictError);
    tf.dispose([...new Set(dict.values())]);
    fx.dispose();
  });
});
