import type { FastRCNNPredictor, TwoMLPHead } from '@residual/faster-rcnn';
import type { MaskRCNNPredictor } from '@residual/mask-rcnn';
import type { RPNHead } from '@residual/rpn';
import { emitConv, emitConvTranspose, emitLayer } from './layer-emitters.js';
import type { OnnxGraph } from './onnx-graph.js';

/** RPNHead on each NCHW level (weights shared): logits [N,A,H,W] and deltas [N,4A,H,W] per level. */
export function emitRpnHead(g: OnnxGraph, head: RPNHead, levels: readonly string[]): { logits: string[]; bboxReg: string[] } {
  const logits: string[] = [];
  const bboxReg: string[] = [];
  levels.forEach((x, i) => {
    const t = emitLayer(g, head.conv, x, `conv.l${i}`);
    logits.push(emitConv(g, head.clsLogits, t, `cls_logits.l${i}`));
    bboxReg.push(emitConv(g, head.bboxPred, t, `bbox_pred.l${i}`));
  });
  return { logits, bboxReg };
}

/** TwoMLPHead on pooled NCHW features [R,C,P,P]: Flatten (torch's C,H,W order) → fc6 → Relu → fc7 → Relu. */
export function emitTwoMlpHead(g: OnnxGraph, head: TwoMLPHead, x: string): string {
  const flat = g.node('Flatten', [x], { axis: { i: 1 } }, 'flatten');
  const h = g.node('Relu', [emitLayer(g, head.fc6, flat, 'fc6')], {}, 'fc6_relu');
  return g.node('Relu', [emitLayer(g, head.fc7, h, 'fc7')], {}, 'fc7_relu');
}

/** FastRCNNPredictor on [R,F] (or [R,F,1,1]): class logits [R,K] and box regression [R,4K]. */
export function emitFastRcnnPredictor(g: OnnxGraph, p: FastRCNNPredictor, x: string): { classLogits: string; boxRegression: string } {
  const flat = g.node('Flatten', [x], { axis: { i: 1 } }, 'predictor_in');
  return { classLogits: emitLayer(g, p.clsScore, flat, 'cls_score'), boxRegression: emitLayer(g, p.bboxPred, flat, 'bbox_pred') };
}

/** MaskRCNNPredictor on NCHW [R,C,P,P]: ConvTranspose 2×2/2 → Relu → 1×1 conv → mask logits [R,K,2P,2P]. */
export function emitMaskRcnnPredictor(g: OnnxGraph, p: MaskRCNNPredictor, x: string): string {
  const up = g.node('Relu', [emitConvTranspose(g, p.conv5Mask, x, 'conv5_mask')], {}, 'conv5_relu');
  return emitConv(g, p.maskFcnLogits, up, 'mask_fcn_logits');
}
