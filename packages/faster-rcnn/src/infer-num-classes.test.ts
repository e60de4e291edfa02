import * as tf from '@tensorflow/tfjs-core';
import { StateDictError } from '@residual/core';
import { useBackend } from '@residual/test-utils';
import { inferNumClasses } from './infer-num-classes.js';

const KEY = 'roi_heads.box_predictor.cls_score.weight';

describe('inferNumClasses', () => {
  beforeAll(async () => {
    await useBackend();
  });

  it('reads the classes (background included) from the rows of cls_score.weight, in a Map or a record', () => {
    const w = tf.zeros([91, 1024]);
    const other = tf.zeros([364, 1024]); // bbox_pred: 4·91 rows, must not be used
    const small = tf.zeros([5, 16]);
    try {
      expect(inferNumClasses(new Map([['roi_heads.box_predictor.bbox_pred.weight', other], [KEY, w]]))).toBe(91);
      expect(inferNumClasses({ [KEY]: small })).toBe(5);
    } finally {
      tf.dispose([w, other, small]);
    }
  });

  it('throws StateDictError for a missing key or a weight that is not 2-D', () => {
    expect(() => inferNumClasses(new Map())).toThrow(
      new StateDictError(`inferNumClasses: state dict has no "${KEY}"`),
    );
    const flat = tf.zeros([91]);
    try {
      expect(() => inferNumClasses({ [KEY]: flat })).toThrow(
        new StateDictError(`inferNumClasses: "${KEY}" expected [numClasses, features], got [91]`),
      );
    } finally {
      flat.dispose();
    }
  });
});
