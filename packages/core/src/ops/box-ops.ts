import * as tf from '@tensorflow/tfjs-core';
import { ValueError, assertShape } from '../errors.js';

// torchvision.ops.boxes: boxes are (x1, y1, x2, y2) float32 pixels, continuous coordinates, no "+1".

/** Box encodings understood by {@link boxConvert} (torchvision's `in_fmt` / `out_fmt`). */
export type BoxFormat = 'xyxy' | 'xywh' | 'cxcywh';

const BOX_FORMATS: readonly BoxFormat[] = ['xyxy', 'xywh', 'cxcywh'];

/**
 * Area `(x2 − x1)·(y2 − y1)` of boxes [N,4] (x1,y1,x2,y2, pixels); returns float32 [N], caller owns.
 * Inverted boxes give negative areas, as torchvision's `box_area`.
 */
export function boxArea(boxes: tf.Tensor2D): tf.Tensor1D {
  assertShape(boxes, [-1, 4], 'boxes', 'boxArea');
  return tf.tidy(() => {
    const [x1, y1, x2, y2] = tf.unstack(boxes, 1);
    return tf.mul(tf.sub(x2, x1), tf.sub(y2, y1)) as tf.Tensor1D;
  });
}

/**
 * Pairwise IoU of boxes1 [N,4] × boxes2 [M,4] (x1,y1,x2,y2, pixels); returns float32 [N,M], caller owns.
 * `inter / (area1 + area2 − inter)` in float32 exactly as torchvision's `box_iou`: two zero-area boxes
 * give 0/0 = NaN (callers such as {@link nms} treat NaN as "no overlap").
 */
export function boxIou(boxes1: tf.Tensor2D, boxes2: tf.Tensor2D): tf.Tensor2D {
  assertShape(boxes1, [-1, 4], 'boxes1', 'boxIou');
  assertShape(boxes2, [-1, 4], 'boxes2', 'boxIou');
  return tf.tidy(() => {
    const area1 = tf.expandDims(boxArea(boxes1), 1); // [N,1]
    const area2 = tf.expandDims(boxArea(boxes2), 0); // [1,M]
    const a = tf.expandDims(boxes1, 1); // [N,1,4]
    const b = tf.expandDims(boxes2, 0); // [1,M,4]
    const lt = tf.maximum(tf.slice(a, [0, 0, 0], [-1, -1, 2]), tf.slice(b, [0, 0, 0], [-1, -1, 2])); // [N,M,2]
    const rb = tf.minimum(tf.slice(a, [0, 0, 2], [-1, -1, 2]), tf.slice(b, [0, 0, 2], [-1, -1, 2])); // [N,M,2]
    const wh = tf.relu(tf.sub(rb, lt)); // clamp(min=0)
    const [w, h] = tf.unstack(wh, 2);
    const inter = tf.mul(w, h); // [N,M]
    const union = tf.sub(tf.add(area1, area2), inter);
    return tf.div(inter, union) as tf.Tensor2D;
  });
}

/**
 * Clamps boxes [N,4] (x1,y1,x2,y2, pixels) into an image of `size = [height, width]`: x to [0, width],
 * y to [0, height] (the upper bound is the size itself, not size − 1, as torchvision).
 * Returns float32 [N,4], caller owns.
 */
export function clipBoxesToImage(boxes: tf.Tensor2D, size: readonly [number, number]): tf.Tensor2D {
  assertShape(boxes, [-1, 4], 'boxes', 'clipBoxesToImage');
  const [height, width] = size;
  if (!(height >= 0) || !(width >= 0)) {
    throw new ValueError(`clipBoxesToImage: size must be [height, width] with sizes ≥ 0, got [${size.join(',')}]`);
  }
  return tf.tidy(() => {
    const [x1, y1, x2, y2] = tf.unstack(boxes, 1);
    const cx = (t: tf.Tensor): tf.Tensor => tf.clipByValue(t, 0, width);
    const cy = (t: tf.Tensor): tf.Tensor => tf.clipByValue(t, 0, height);
    return tf.stack([cx(x1), cy(y1), cx(x2), cy(y2)], 1) as tf.Tensor2D;
  });
}

/**
 * Indices (ascending, int32 [K]) of the boxes [N,4] whose width and height are both ≥ `minSize`
 * (inclusive, as torchvision's `remove_small_boxes`). Reads the boxes back to the CPU (one dataSync).
 * Caller owns the result.
 */
export function removeSmallBoxes(boxes: tf.Tensor2D, minSize: number): tf.Tensor1D {
  assertShape(boxes, [-1, 4], 'boxes', 'removeSmallBoxes');
  const data = boxes.dataSync();
  const keep: number[] = [];
  for (let i = 0; i < boxes.shape[0]; i++) {
    // Float32 subtraction, as torch computes ws/hs on the float32 tensor.
    const w = Math.fround(data[4 * i + 2] - data[4 * i]);
    const h = Math.fround(data[4 * i + 3] - data[4 * i + 1]);
    if (w >= minSize && h >= minSize) keep.push(i);
  }
  return tf.tensor1d(keep, 'int32');
}

/**
 * Converts boxes [N,4] between `'xyxy'` (corners), `'xywh'` (top-left corner, size) and `'cxcywh'`
 * (centre, size), with torchvision's `box_convert` arithmetic (non-xyxy pairs go through xyxy).
 * Returns a new float32 [N,4] tensor (a copy when the formats are equal), caller owns.
 */
export function boxConvert(boxes: tf.Tensor2D, inFmt: BoxFormat, outFmt: BoxFormat): tf.Tensor2D {
  assertShape(boxes, [-1, 4], 'boxes', 'boxConvert');
  for (const [name, fmt] of [['inFmt', inFmt], ['outFmt', outFmt]] as const) {
    if (!BOX_FORMATS.includes(fmt)) {
      throw new ValueError(`boxConvert: ${name} must be one of ${BOX_FORMATS.join(', ')}, got "${String(fmt)}"`);
    }
  }
  return tf.tidy(() => {
    if (inFmt === outFmt) return tf.clone(boxes);
    const xyxy = inFmt === 'xyxy' ? boxes : toXyxy(boxes, inFmt);
    return outFmt === 'xyxy' ? xyxy : fromXyxy(xyxy, outFmt);
  });
}

function toXyxy(boxes: tf.Tensor2D, fmt: 'xywh' | 'cxcywh'): tf.Tensor2D {
  const [a, b, w, h] = tf.unstack(boxes, 1);
  if (fmt === 'xywh') return tf.stack([a, b, tf.add(a, w), tf.add(b, h)], 1) as tf.Tensor2D;
  const hw = tf.mul(w, 0.5);
  const hh = tf.mul(h, 0.5);
  return tf.stack([tf.sub(a, hw), tf.sub(b, hh), tf.add(a, hw), tf.add(b, hh)], 1) as tf.Tensor2D;
}

function fromXyxy(boxes: tf.Tensor2D, fmt: 'xywh' | 'cxcywh'): tf.Tensor2D {
  const [x1, y1, x2, y2] = tf.unstack(boxes, 1);
  const w = tf.sub(x2, x1);
  const h = tf.sub(y2, y1);
  if (fmt === 'xywh') return tf.stack([x1, y1, w, h], 1) as tf.Tensor2D;
  return tf.stack([tf.div(tf.add(x1, x2), 2), tf.div(tf.add(y1, y2), 2), w, h], 1) as tf.Tensor2D;
}
