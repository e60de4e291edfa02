import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, ValueError, assertShape, formatShape } from '../errors.js';

/** Weights `[wx, wy, ww, wh]` that scale the (dx, dy, dw, dh) regression targets. */
export type BoxCoderWeights = readonly [number, number, number, number];

/**
 * torchvision's `BoxCoder` (models/detection/_utils.py): encodes boxes as regression targets
 * (dx, dy, dw, dh) relative to reference boxes and decodes them back. Boxes are (x1,y1,x2,y2) float32
 * pixels. Every method is built from tfjs ops, so gradients flow (used in training losses); inputs are
 * never disposed and results are owned by the caller.
 */
export class BoxCoder {
  readonly weights: BoxCoderWeights;
  readonly bboxXformClip: number;

  /**
   * @param weights `[wx, wy, ww, wh]`, e.g. (10, 10, 5, 5) for the Faster R-CNN box head, (1, 1, 1, 1) for the RPN.
   * @param bboxXformClip upper clamp on decoded dw/dh (log-space), default ln(1000/16).
   */
  constructor(weights: BoxCoderWeights, bboxXformClip: number = Math.log(1000 / 16)) {
    if (weights.length !== 4 || weights.some((w) => !Number.isFinite(w) || w === 0)) {
      throw new ValueError(`BoxCoder: weights must be 4 finite non-zero numbers, got [${weights.join(',')}]`);
    }
    this.weights = [...weights] as unknown as BoxCoderWeights;
    this.bboxXformClip = bboxXformClip;
  }

  /**
   * Regression targets of `referenceBoxes` [N,4] (the ground truth matched to each proposal) relative
   * to `proposals` [N,4], as torchvision's `encode_single(reference_boxes, proposals)`:
   * `dx = wx·(gcx − pcx)/pw`, `dy = wy·(gcy − pcy)/ph`, `dw = ww·ln(gw/pw)`, `dh = wh·ln(gh/ph)`.
   * Returns float32 [N,4] (dx,dy,dw,dh), caller owns.
   */
  encode(referenceBoxes: tf.Tensor2D, proposals: tf.Tensor2D): tf.Tensor2D {
    assertShape(referenceBoxes, [-1, 4], 'referenceBoxes', 'BoxCoder.encode');
    assertShape(proposals, [-1, 4], 'proposals', 'BoxCoder.encode');
    if (proposals.shape[0] !== referenceBoxes.shape[0]) {
      throw new ShapeError(
        `BoxCoder.encode: proposals must be [${referenceBoxes.shape[0]},4] (one per reference box), got ${formatShape(proposals.shape)}`,
      );
    }
    const [wx, wy, ww, wh] = this.weights;
    return tf.tidy(() => {
      const p = centreForm(proposals);
      const g = centreForm(referenceBoxes);
      // torch evaluates wx·(g − p) first, then divides by the width.
      const dx = tf.div(tf.mul(wx, tf.sub(g.cx, p.cx)), p.w);
      const dy = tf.div(tf.mul(wy, tf.sub(g.cy, p.cy)), p.h);
      const dw = tf.mul(ww, tf.log(tf.div(g.w, p.w)));
      const dh = tf.mul(wh, tf.log(tf.div(g.h, p.h)));
      return tf.stack([dx, dy, dw, dh], 1) as tf.Tensor2D;
    });
  }

  /**
   * Applies `relCodes` [N,4K] (per box K groups of (dx,dy,dw,dh), e.g. one per class) to `boxes` [N,4],
   * as torchvision's `decode`: `dw`, `dh` are divided by their weights and clamped from above only at
   * `bboxXformClip`, then `pcx = dx·w + cx`, `pw = exp(dw)·w` (same for y/h), and the box is
   * `(pcx − pw/2, pcy − ph/2, pcx + pw/2, pcy + ph/2)`. Returns float32 [N,K,4], caller owns.
   */
  decode(relCodes: tf.Tensor2D, boxes: tf.Tensor2D): tf.Tensor3D {
    assertShape(boxes, [-1, 4], 'boxes', 'BoxCoder.decode');
    assertShape(relCodes, [-1, -1], 'relCodes', 'BoxCoder.decode');
    const [n, codes] = relCodes.shape;
    if (n !== boxes.shape[0] || codes % 4 !== 0) {
      throw new ShapeError(
        `BoxCoder.decode: relCodes must be [${boxes.shape[0]},4K] (4 codes per class for each box), got ${formatShape(relCodes.shape)}`,
      );
    }
    const k = codes / 4;
    const [wx, wy, ww, wh] = this.weights;
    return tf.tidy(() => {
      const r = centreForm(boxes);
      const [w, h, cx, cy] = [r.w, r.h, r.cx, r.cy].map((t) => tf.expandDims(t, 1)); // [N,1]
      const rel = tf.reshape(relCodes, [n, k, 4]); // [N,K,4]
      const [rx, ry, rw, rh] = tf.unstack(rel, 2); // each [N,K]
      const dx = tf.div(rx, wx);
      const dy = tf.div(ry, wy);
      const dw = tf.minimum(tf.div(rw, ww), this.bboxXformClip);
      const dh = tf.minimum(tf.div(rh, wh), this.bboxXformClip);
      const pcx = tf.add(tf.mul(dx, w), cx);
      const pcy = tf.add(tf.mul(dy, h), cy);
      const halfW = tf.mul(0.5, tf.mul(tf.exp(dw), w));
      const halfH = tf.mul(0.5, tf.mul(tf.exp(dh), h));
      return tf.stack([tf.sub(pcx, halfW), tf.sub(pcy, halfH), tf.add(pcx, halfW), tf.add(pcy, halfH)], 2) as tf.Tensor3D;
    });
  }
}

function centreForm(boxes: tf.Tensor2D): { w: tf.Tensor; h: tf.Tensor; cx: tf.Tensor; cy: tf.Tensor } {
  const [x1, y1, x2, y2] = tf.unstack(boxes, 1);
  const w = tf.sub(x2, x1);
  const h = tf.sub(y2, y1);
  return { w, h, cx: tf.add(x1, tf.mul(0.5, w)), cy: tf.add(y1, tf.mul(0.5, h)) };
}
