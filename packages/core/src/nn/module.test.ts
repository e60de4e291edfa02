import * as tf from '@tensorflow/tfjs-core';
import { expectNoLeak, useBackend } from '@residual/test-utils';
import { Module, StateDictError, conv2dLayout, linearLayout } from '@residual/core';

class Affine extends Module {
  readonly weight: tf.Variable;
  readonly runningMean: tf.Variable;
  constructor() {
    super();
    // tfjs layout [in=3, out=2]; torch sees [2, 3].
    this.weight = this.registerParameter('weight', tf.tensor2d([[1, 2], [3, 4], [5, 6]]), linearLayout);
    this.runningMean = this.registerBuffer('running_mean', tf.zeros([2]));
    this.registerBuffer('cache', tf.zeros([1]), { persistent: false });
  }
}

class Net extends Module {
  readonly fc: Affine;
  readonly conv: tf.Variable;
  constructor() {
    super();
    this.fc = this.registerModule('fc', new Affine());
    this.conv = this.registerParameter('conv_w', tf.zeros([1, 1, 2, 4]), conv2dLayout);
  }
}

beforeAll(async () => {
  await useBackend();
});

describe('Module', () => {
  it('names parameters and buffers by dotted torch path in registration order', () => {
    const net = new Net();
    expect([...net.namedParameters().keys()]).toEqual(['conv_w', 'fc.weight']);
    expect([...net.namedBuffers().keys()]).toEqual(['fc.running_mean', 'fc.cache']);
    expect([...net.namedModules().keys()]).toEqual(['', 'fc']);
    net.dispose();
  });

  it('disposes each descendant through its own dispose(), so what a subclass keeps besides its variables is freed', () => {
    class Cached extends Affine {
      readonly cache = [tf.ones([4])];
      override dispose(): void {
        super.dispose();
        tf.dispose(this.cache);
      }
    }
    class Outer extends Module {
      constructor() {
        super();
        this.registerModule('inner', new Cached());
      }
    }
    const before = tf.memory().numTensors;
    new Outer().dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('writes state dicts in torch layout and leaves out non-persistent buffers', async () => {
    const net = new Net();
    await expectNoLeak(() => {
      const sd = net.stateDict();
      expect([...sd.keys()]).toEqual(['conv_w', 'fc.weight', 'fc.running_mean']);
      expect(sd.get('conv_w')!.shape).toEqual([4, 2, 1, 1]);
      expect(sd.get('fc.weight')!.arraySync()).toEqual([[1, 3, 5], [2, 4, 6]]);
      return sd;
    });
    net.dispose();
  });

  it('loads a torch-layout state dict back into tfjs layout', () => {
    const a = new Net();
    const b = new Net();
    const sd = a.stateDict();
    sd.get('fc.weight')!.dispose();
    sd.set('fc.weight', tf.tensor2d([[0, 1, 2], [3, 4, 5]]));
    expect(b.loadStateDict(sd)).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect(b.fc.weight.arraySync()).toEqual([[0, 3], [1, 4], [2, 5]]);
    tf.dispose([...sd.values()]);
    a.dispose();
    b.dispose();
  });

  it('lists every missing, unexpected and mis-shaped key in one strict error', () => {
    const net = new Net();
    const sd = {
      conv_w: tf.zeros([4, 2, 3, 3]),
      'fc.weight': tf.zeros([2, 3]),
      'fc.extra': tf.zeros([1]),
    };
    expect(() => net.loadStateDict(sd)).toThrow(StateDictError);
    expect(() => net.loadStateDict(sd)).toThrow(
      'loadStateDict: missing keys (1): "fc.running_mean"; unexpected keys (1): "fc.extra"; ' +
        'mis-shaped keys (1): "conv_w" expected [4,2,1,1] (torch layout), got [4,2,3,3]',
    );
    tf.dispose(Object.values(sd));
    net.dispose();
  });

  it('returns unmatched keys without throwing when strict is false', () => {
    const net = new Net();
    const sd = { 'fc.weight': tf.ones([2, 3]), bogus: tf.zeros([1]) };
    expect(net.loadStateDict(sd, { strict: false })).toEqual({
      missingKeys: ['conv_w', 'fc.running_mean'],
      unexpectedKeys: ['bogus'],
    });
    expect(net.fc.weight.arraySync()).toEqual([[1, 1], [1, 1], [1, 1]]);
    tf.dispose(Object.values(sd));
    net.dispose();
  });

  it('propagates train/eval to descendants and freezes parameters', () => {
    const net = new Net();
    net.eval();
    expect(net.fc.training).toBe(false);
    net.train();
    expect(net.fc.training).toBe(true);
    net.fc.requiresGrad(false);
    expect([...net.trainableParameters().keys()]).toEqual(['conv_w']);
    net.dispose();
  });

  it('frees every variable on dispose', () => {
    const before = tf.memory().numTensors;
    const net = new Net();
    expect(tf.memory().numTensors).toBe(before + 4);
    net.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
