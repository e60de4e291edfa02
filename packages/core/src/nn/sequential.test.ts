import * as tf from '@tensorflow/tfjs-core';
import { expectNoLeak, useBackend } from '@residual/test-utils';
import { BatchNorm2d, Conv2d, Linear, ModuleList, ReLU, Sequential, ValueError } from '@residual/core';

beforeAll(async () => {
  await useBackend();
});

describe('Sequential', () => {
  it('names children "0", "1", … so state-dict keys are torch\'s', () => {
    const seq = new Sequential(new Conv2d(3, 4, 1, { bias: false }), new BatchNorm2d(4), new ReLU());
    const sd = seq.stateDict();
    expect([...sd.keys()]).toEqual([
      '0.weight',
      '1.weight',
      '1.bias',
      '1.running_mean',
      '1.running_var',
      '1.num_batches_tracked',
    ]);
    expect(seq.length).toBe(3);
    expect(seq.get(-1)).toBeInstanceOf(ReLU);
    tf.dispose([...sd.values()]);
    seq.dispose();
  });

  it('chains forward and frees every intermediate result', async () => {
    const fc = new Linear(2, 2, { bias: false });
    const sd = { weight: tf.tensor2d([[1, 0], [0, -1]]) };
    fc.loadStateDict(sd);
    const seq = new Sequential(fc, new ReLU());
    const x = tf.tensor2d([[3, 4]]);
    await expectNoLeak(() => {
      const y = seq.forward(x);
      expect(y.arraySync()).toEqual([[3, 0]]);
      return y;
    });
    expect(x.isDisposed).toBe(false);
    tf.dispose([x, sd.weight]);
    seq.dispose();
  });

  it('rejects an index out of range', () => {
    const seq = new Sequential(new ReLU());
    expect(() => seq.get(1)).toThrow(new ValueError('Sequential.get: index 1 out of range for 1 modules'));
  });
});

describe('ModuleList', () => {
  it('registers appended modules under their index and iterates them in order', () => {
    const list = new ModuleList([new Linear(2, 3)]);
    list.append(new Linear(3, 1));
    expect([...list.namedParameters().keys()]).toEqual(['0.weight', '0.bias', '1.weight', '1.bias']);
    expect([...list].map((m) => m.outFeatures)).toEqual([3, 1]);
    expect(list.get(1).inFeatures).toBe(3);
    list.dispose();
  });
});
