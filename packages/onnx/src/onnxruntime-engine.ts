import * as tf from '@tensorflow/tfjs-core';
import { ValueError } from '@residual/core';
import {
  RoIHeads,
  type MultiScaleRoIAlign,
  type Detection,
  type GeneralizedRCNN,
  type ImageList,
} from '@residual/faster-rcnn';
import { BackboneWithFPN } from '@residual/fpn';
import { MaskRCNNTransform, MaskRoIHeads } from '@residual/mask-rcnn';
import { RegionProposalNetwork } from '@residual/rpn';
import { hostMaskProbs, hostPasteMasksTensor } from './host-masks.js';
import { hostPostprocessDetections } from './host-postprocess.js';
import { hostMultiScaleRoiAlign } from './host-roi-align.js';
import { hostTransform, isPlainTransform } from './host-transform.js';
import { OnnxSession, type HostTensor, type OnnxSessionOptions } from './onnx-session.js';
import { hostRpnProposals } from './host-proposals.js';
import { toOnnx } from './to-onnx.js';

/** The engine interface of GeneralizedRCNN (`model.engine`). */
export type DetectorEngine = NonNullable<GeneralizedRCNN['engine']>;

/** Stages of {@link OnnxruntimeDetectorEngine.predict}, in order, and `total`. */
export type EngineStage =
  | 'transform'
  | 'backbone'
  | 'rpnHead'
  | 'proposals'
  | 'boxRoiPool'
  | 'boxHead'
  | 'postprocess'
  | 'maskRoiPool'
  | 'maskHead'
  | 'maskInference'
  | 'paste'
  | 'total';

/** The stages that run in onnxruntime. */
export const DENSE_STAGES: readonly EngineStage[] = ['backbone', 'rpnHead', 'boxHead', 'maskHead'];

function emptyTimings(): Record<EngineStage, number> {
  const stages: EngineStage[] = ['transform', 'backbone', 'rpnHead', 'proposals', 'boxRoiPool', 'boxHead', 'postprocess', 'maskRoiPool', 'maskHead', 'maskInference', 'paste', 'total'];
  return Object.fromEntries(stages.map((k) => [k, 0])) as Record<EngineStage, number>;
}

/** Sessions of the dense parts (NHWC graphs built from the model's weights). */
interface Sessions {
  backbone: OnnxSession;
  rpnHead: OnnxSession;
  boxHead: OnnxSession;
  maskHead: OnnxSession | null;
}

/** The detector's parts the engine drives, checked once. */
interface Parts {
  backbone: BackboneWithFPN;
  rpn: RegionProposalNetwork;
  roiHeads: RoIHeads;
  mask: MaskRoIHeads | null;
}

function partsOf(model: GeneralizedRCNN): Parts {
  const where = 'useEngine';
  if (!(model.backbone instanceof BackboneWithFPN)) throw new ValueError(`${where}: the onnxruntime engine needs a BackboneWithFPN backbone, got ${model.backbone.constructor.name}`);
  if (!(model.rpn instanceof RegionProposalNetwork)) throw new ValueError(`${where}: the onnxruntime engine needs a RegionProposalNetwork, got ${model.rpn.constructor.name}`);
  if (!(model.roiHeads instanceof RoIHeads)) throw new ValueError(`${where}: the onnxruntime engine needs RoIHeads, got ${model.roiHeads.constructor.name}`);
  return { backbone: model.backbone, rpn: model.rpn, roiHeads: model.roiHeads, mask: model.roiHeads instanceof MaskRoIHeads ? model.roiHeads : null };
}

/**
 * A detector engine on onnxruntime-node: the dense parts (backbone + FPN, RPN head, box head +
 * predictor, mask head + predictor) run as ONNX graphs exported from the model's weights when the
 * engine is made; the transform, anchors, proposal selection, NMS, RoIAlign, mask inference and
 * pasting run in TypeScript with the model's own parts. `predict` awaits each dense part between
 * the sync TS steps, so GeneralizedRCNN's forward stays sync. Weights changed later are not seen:
 * make a new engine. Call `release()` (or `useEngine(model, 'tfjs')`) to free onnxruntime's memory.
 */
export class OnnxruntimeDetectorEngine implements DetectorEngine {
  readonly name = 'onnxruntime';
  /**
   * Wall time of each stage of the last `predict`, ms. Dense stages (backbone, rpnHead, boxHead,
   * maskHead) run in onnxruntime and include the copies in and out; the others are TypeScript.
   */
  readonly lastTimings: Record<EngineStage, number> = emptyTimings();

  // Anchors of one image per batch and map shapes, read back once (the generator's grids do not change).
  private readonly anchorCache = new Map<string, Float32Array>();

  private constructor(private readonly sessions: Sessions) {}

  private anchors(rpn: RegionProposalNetwork, batch: ImageList, shapes: number[][]): Float32Array {
    const key = JSON.stringify([batch.tensor.shape, shapes]);
    let anchors = this.anchorCache.get(key);
    if (!anchors) {
      const t = rpn.anchorGenerator.forward(batch, shapes.map(shapeOnly));
      anchors = t.dataSync() as Float32Array;
      t.dispose();
      if (this.anchorCache.size >= 8) this.anchorCache.clear(); // many image sizes: keep memory bounded
      this.anchorCache.set(key, anchors);
    }
    return anchors;
  }

  // Runs one stage (sync or async) and adds its wall time to lastTimings.
  private async timed<T>(stage: EngineStage, fn: () => T | Promise<T>): Promise<T> {
    const t = performance.now();
    try {
      return await fn();
    } finally {
      this.lastTimings[stage] += performance.now() - t;
    }
  }

  /** Exports the model's dense parts (NHWC layout, dynamic sizes) and opens an onnxruntime session for each. */
  static async create(model: GeneralizedRCNN, options: OnnxSessionOptions = {}): Promise<OnnxruntimeDetectorEngine> {
    const { backbone, rpn, roiHeads, mask } = partsOf(model);
    const c = backbone.outChannels;
    const common = { dynamicBatch: true, layout: 'nhwc' } as const;
    const levels = Object.keys(backbone.outputShape());
    const [bh, bw] = roiHeads.boxRoiPool.outputSize;
    const graphs = {
      backbone: toOnnx(backbone, { ...common, inputShape: [1, 3, 64, 64], dynamicSpatial: true }),
      rpnHead: toOnnx(rpn.head, { ...common, inputShape: [1, c, 1, 1], levels }),
      boxHead: toOnnx([roiHeads.boxHead, roiHeads.boxPredictor], { ...common, inputShape: [1, c, bh, bw] }),
      maskHead: mask ? toOnnx([mask.maskHead, mask.maskPredictor], { ...common, inputShape: [1, c, ...mask.maskRoiPool.outputSize] }) : null,
    };
    const opened: OnnxSession[] = [];
    const open = async (bytes: Uint8Array): Promise<OnnxSession> => {
      const s = await OnnxSession.create(bytes, options);
      opened.push(s);
      return s;
    };
    try {
      return new OnnxruntimeDetectorEngine({
        backbone: await open(graphs.backbone),
        rpnHead: await open(graphs.rpnHead),
        boxHead: await open(graphs.boxHead),
        maskHead: graphs.maskHead ? await open(graphs.maskHead) : null,
      });
    } catch (e) {
      await Promise.all(opened.map((s) => s.release()));
      throw e;
    }
  }

  /** GeneralizedRCNN.predict on this engine: detections in input pixels (masks pasted for Mask R-CNN); caller owns them. */
  async predict(model: GeneralizedRCNN, images: readonly tf.Tensor3D[]): Promise<Detection[]> {
    const parts = partsOf(model);
    const start = performance.now();
    Object.assign(this.lastTimings, emptyTimings());
    const owned: tf.Tensor[] = [];
    const keep = <T extends tf.Tensor>(t: T): T => (owned.push(t), t);
    try {
      const originalSizes = images.map((im) => [im.shape[0], im.shape[1]] as [number, number]);
      const { batch, input } = await this.timed('transform', async () => {
        if (!isPlainTransform(model.transform)) {
          const { images: b } = model.transform.forward(images); // a custom transform: its own forward
          keep(b.tensor);
          return { batch: b, input: { data: (await b.tensor.data()) as Float32Array, shape: b.tensor.shape } };
        }
        const host = await hostTransform(model.transform, images);
        const tensor = keep(tf.tensor4d(host.input.data, host.input.shape as [number, number, number, number]));
        return { batch: { tensor, imageSizes: host.imageSizes }, input: host.input };
      });
      // Dense: backbone + FPN, then the RPN head on every level. The maps stay host arrays: the
      // TypeScript stages read them directly, and onnxruntime takes them back without a copy.
      const maps = await this.timed('backbone', () => this.sessions.backbone.runHost({ input }));
      const head = await this.timed('rpnHead', () => this.sessions.rpnHead.runHost(Object.fromEntries(maps)));
      const levels = [...maps.keys()];
      const proposals = await this.timed('proposals', () =>
        hostRpnProposals(
          parts.rpn,
          batch,
          this.anchors(parts.rpn, batch, levels.map((l) => (maps.get(l) as HostTensor).shape)),
          levels.map((l) => head.get(`logits.${l}`) as HostTensor),
          levels.map((l) => head.get(`bbox_reg.${l}`) as HostTensor),
        ),
      );
      owned.push(...proposals);
      const detections = await this.boxBranch(parts.roiHeads, maps, proposals, batch);
      owned.push(...detections.flatMap((d) => [d.boxes, d.scores, d.labels]));
      if (!parts.mask) return await this.timed('paste', () => tf.tidy(() => model.transform.postprocess(detections, batch.imageSizes, originalSizes)));
      const masks = await this.maskBranch(parts.mask, maps, detections, batch);
      return await this.timed('paste', () => paste(model, detections, masks, batch.imageSizes, originalSizes));
    } finally {
      tf.dispose(owned);
      this.lastTimings.total = performance.now() - start;
    }
  }

  // box_roi_pool (TS) → box head + predictor (onnxruntime) → postprocess (TS); detections in batch pixels.
  private async boxBranch(roiHeads: RoIHeads, maps: Map<string, HostTensor>, proposals: tf.Tensor2D[], batch: ImageList): Promise<Detection[]> {
    const pooled = await this.timed('boxRoiPool', () => pool(roiHeads.boxRoiPool, maps, proposals, batch.imageSizes)); // [R,P,P,C]
    const out = pooled.shape[0] > 0 ? await this.timed('boxHead', () => this.sessions.boxHead.runHost({ input: pooled })) : emptyBoxOutputs(roiHeads);
    const [classLogits, boxRegression] = [out.get('class_logits') as HostTensor, out.get('box_regression') as HostTensor];
    return this.timed('postprocess', () =>
      hostPostprocessDetections(classLogits, boxRegression, proposals, batch.imageSizes, {
        boxCoder: roiHeads.boxCoder,
        scoreThresh: roiHeads.scoreThresh,
        nmsThresh: roiHeads.nmsThresh,
        detectionsPerImg: roiHeads.detectionsPerImg,
      }),
    );
  }

  // mask_roi_pool (TS) → mask head + predictor (onnxruntime) → the labelled class's probabilities (TS), per image.
  private async maskBranch(heads: MaskRoIHeads, maps: Map<string, HostTensor>, detections: Detection[], batch: ImageList): Promise<HostMasks> {
    const session = this.sessions.maskHead as OnnxSession;
    const pooled = await this.timed('maskRoiPool', () => pool(heads.maskRoiPool, maps, detections.map((d) => d.boxes), batch.imageSizes)); // [K,P,P,C]
    const m = 2 * pooled.shape[1]; // the mask head's transposed conv doubles the pooled size
    if (pooled.shape[0] === 0) return { m, probs: detections.map(() => new Float32Array(0)) };
    const logits = await this.timed('maskHead', async () => (await session.runHost({ input: pooled })).get('mask_logits') as HostTensor); // [K,M,M,classes]
    return this.timed('maskInference', () => {
      if (logits.shape[1] !== m || logits.shape[2] !== m) throw new ValueError(`useEngine: mask logits must be [K,${m},${m},C], got [${logits.shape.join(',')}]`);
      const labels = Int32Array.from(detections.flatMap((d) => Array.from(d.labels.dataSync())));
      const all = hostMaskProbs(logits, labels); // [K,M,M]
      let at = 0;
      const probs = detections.map((d) => all.subarray(m * m * at, m * m * (at += d.labels.shape[0])));
      return { m, probs };
    });
  }

  /** Frees the onnxruntime sessions (the model is not touched). */
  async release(): Promise<void> {
    const { backbone, rpnHead, boxHead, maskHead } = this.sessions;
    await Promise.all([backbone, rpnHead, boxHead, ...(maskHead ? [maskHead] : [])].map((s) => s.release()));
  }
}

/** Mask probabilities per image: [Ki,M,M] as flat arrays. */
interface HostMasks {
  m: number;
  probs: Float32Array[];
}

// transform.postprocess with the masks: Mask R-CNN's transform pasting full masks is done here on the
// host arrays (the transform only rescales the boxes); any other transform (RLE output, a custom one)
// gets the [Ki,M,M] probabilities as tensors and pastes them itself.
function paste(
  model: GeneralizedRCNN,
  detections: readonly Detection[],
  { m, probs }: HostMasks,
  imageSizes: ReadonlyArray<readonly [number, number]>,
  originalSizes: ReadonlyArray<readonly [number, number]>,
): Detection[] {
  const transform = model.transform;
  if (!(transform instanceof MaskRCNNTransform && transform.maskFormat === 'full')) {
    return tf.tidy(() => {
      const withMasks = detections.map((d, i) => ({ ...d, masks: tf.tensor3d(probs[i], [d.labels.shape[0], m, m]) }));
      return transform.postprocess(withMasks, imageSizes, originalSizes);
    });
  }
  const out = transform.postprocess(detections, imageSizes, originalSizes); // boxes rescaled; no masks to paste
  try {
    return out.map((d, i) => {
      const [h, w] = originalSizes[i];
      return { ...d, masks: hostPasteMasksTensor(probs[i], m, d.boxes.dataSync(), [h, w]) };
    });
  } catch (e) {
    tf.dispose(out.flatMap((d) => [d.boxes, d.scores, d.labels]));
    throw e;
  }
}

// AnchorGenerator reads only the feature maps' shapes (for its grids): the host maps stand in for tensors.
function shapeOnly(shape: number[]): tf.Tensor4D {
  return { shape, rank: 4 } as unknown as tf.Tensor4D;
}

// The pooler's levels (in the features' order, as MultiScaleRoIAlign selects them) pooled on the host.
function pool(pooler: MultiScaleRoIAlign, maps: Map<string, HostTensor>, boxes: readonly tf.Tensor2D[], imageSizes: ReadonlyArray<readonly [number, number]>): HostTensor {
  const levels = [...maps].filter(([k]) => pooler.featmapNames.includes(k)).map(([, v]) => v);
  if (levels.length === 0) throw new ValueError(`useEngine: the RoI pooler needs the maps [${pooler.featmapNames.join(',')}], the backbone gives [${[...maps.keys()].join(',')}]`);
  return hostMultiScaleRoiAlign(pooler, levels, boxes.map((b) => b.dataSync() as Float32Array), imageSizes);
}

// No proposals at all: the predictor's outputs for zero rows.
function emptyBoxOutputs(roiHeads: RoIHeads): Map<string, HostTensor> {
  const k = roiHeads.boxPredictor.numClasses;
  return new Map<string, HostTensor>([
    ['class_logits', { data: new Float32Array(0), shape: [0, k] }],
    ['box_regression', { data: new Float32Array(0), shape: [0, 4 * k] }],
  ]);
}
