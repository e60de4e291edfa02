import { BatchNorm2d, ValueError, type Generator } from '@residual/core';
import { FastRCNNPredictor, MultiScaleRoIAlign, TwoMLPHead } from '@residual/faster-rcnn';
import { resnetFpnBackbone } from '@residual/fpn';
import { RESNET_BUILDERS, type ResNetName } from '@residual/resnet';
import { AnchorGenerator } from '@residual/rpn';
import { MaskRCNNHeads } from './mask-rcnn-heads.js';
import { MaskRCNNPredictor } from './mask-rcnn-predictor.js';
import { MaskRCNN } from './mask-rcnn.js';

// A ResNet-FPN Mask R-CNN other than torchvision's, described by a plain JSON record, so the record
// can travel in a weights file's metadata and anything that reads the file (the CLI, a web page)
// rebuilds the same model. Key names in the file stay torchvision's.

/**
 * A compact ResNet-FPN Mask R-CNN trained from scratch: BatchNorm2d everywhere (all stages trainable),
 * an FPN on some ResNet layers (plus torchvision's max-pool level), one anchor size per pyramid level,
 * a TwoMLPHead box head and an N-layer mask head. `residual demo` writes one into its weights.
 */
export interface MaskRCNNConfig {
  /** A torchvision ResNet name. */
  backbone: ResNetName;
  /** ResNet layers feeding the FPN, ascending, from 1–4 (pyramid levels '0', '1', …). */
  returnedLayers: number[];
  /** FPN channels. */
  fpnChannels: number;
  /** Anchor side per level in input pixels: one per returned layer plus one for the 'pool' level. */
  anchorSizes: number[];
  /** Aspect ratios (h/w) of every level's anchors. */
  aspectRatios: number[];
  /** Width of the TwoMLPHead box head. */
  representationSize: number;
  /** Channels of each 3×3 conv of the mask head (the predictor's width is the last one). */
  maskHeadLayers: number[];
  rpnBatchSizePerImage: number;
  boxBatchSizePerImage: number;
  rpnPreNmsTopNTrain: number;
  rpnPostNmsTopNTrain: number;
  rpnPreNmsTopNTest: number;
  rpnPostNmsTopNTest: number;
  /** The transform's resize rule the model was trained with (shorter side, longer side cap). */
  minSize: number;
  maxSize: number;
}

/** Safetensors metadata key of a detector's {@link MaskRCNNConfig} (JSON), as `residual demo` writes it. */
export const MASKRCNN_CONFIG_METADATA_KEY = 'residual.demo';
/** Metadata key of the categories: JSON `[{ id, name }]`, label k (1..K) being entry k − 1. */
export const CATEGORIES_METADATA_KEY = 'residual.categories';

/** A category of a detector's labels (COCO's `categories` entry). */
export interface DetectorCategory {
  id: number;
  name: string;
}

/** What a weights file's metadata says about its detector (each part absent when the file lacks it). */
export interface DetectorMetadata {
  config?: MaskRCNNConfig;
  categories?: DetectorCategory[];
}

/** Options of {@link maskrcnnFromConfig}: the class count and inference settings (absent: the config's). */
export interface MaskRCNNFromConfigOptions {
  /** Classes with the background. */
  numClasses: number;
  minSize?: number;
  maxSize?: number;
  rpnPreNmsTopNTest?: number;
  rpnPostNmsTopNTest?: number;
  boxScoreThresh?: number;
  boxDetectionsPerImg?: number;
  /** Initialisation (and training samplers); absent: core's default generator. */
  generator?: Generator;
}

const POSITIVE_INTS = [
  'fpnChannels', 'representationSize', 'rpnBatchSizePerImage', 'boxBatchSizePerImage', 'rpnPreNmsTopNTrain',
  'rpnPostNmsTopNTrain', 'rpnPreNmsTopNTest', 'rpnPostNmsTopNTest', 'minSize', 'maxSize',
] as const;
const FIELDS: ReadonlyArray<keyof MaskRCNNConfig> = ['backbone', 'returnedLayers', 'anchorSizes', 'aspectRatios', 'maskHeadLayers', ...POSITIVE_INTS];

/**
 * Reads and checks a {@link MaskRCNNConfig} from its JSON text. `where` names the source in errors
 * (`--weights model.safetensors`). Bad JSON, unknown or missing fields and bad values are ValueErrors
 * naming the field. Files written before the image size was recorded were trained at 128 px (the
 * demo's default then), so absent `minSize`/`maxSize` read as 128.
 */
export function parseMaskRCNNConfig(text: string, where: string): MaskRCNNConfig {
  const bad = (what: string): never => {
    throw new ValueError(`${where}: metadata "${MASKRCNN_CONFIG_METADATA_KEY}" ${what}`);
  };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return bad(`is not valid JSON (${(e as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return bad(`must be a JSON object, got ${text.slice(0, 40)}`);
  const record: Record<string, unknown> = { minSize: 128, maxSize: 128, ...(json as Record<string, unknown>) };
  const unknown = Object.keys(record).filter((k) => !(FIELDS as readonly string[]).includes(k));
  if (unknown.length) bad(`has unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')} (known: ${FIELDS.join(', ')})`);
  const missing = FIELDS.filter((k) => !(k in record));
  if (missing.length) bad(`lacks ${missing.map((k) => `"${k}"`).join(', ')}`);
  const isPositiveInt = (v: unknown): boolean => Number.isInteger(v) && (v as number) > 0;
  const isPositive = (v: unknown): boolean => typeof v === 'number' && v > 0 && Number.isFinite(v);
  const list = (key: keyof MaskRCNNConfig, ok: (v: unknown) => boolean, expected: string): void => {
    const v = record[key];
    if (!Array.isArray(v) || v.length === 0 || !v.every(ok)) bad(`"${key}" must be a non-empty array of ${expected}, got ${JSON.stringify(v)}`);
  };
  if (typeof record.backbone !== 'string' || !Object.prototype.hasOwnProperty.call(RESNET_BUILDERS, record.backbone)) {
    bad(`"backbone" must be one of ${Object.keys(RESNET_BUILDERS).join(', ')}, got ${JSON.stringify(record.backbone)}`);
  }
  for (const key of POSITIVE_INTS) if (!isPositiveInt(record[key])) bad(`"${key}" must be a positive integer, got ${JSON.stringify(record[key])}`);
  list('returnedLayers', (v) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 4, 'layers 1–4');
  const layers = record.returnedLayers as number[];
  if (layers.some((l, i) => i > 0 && l <= layers[i - 1])) bad(`"returnedLayers" must be ascending, got ${JSON.stringify(layers)}`);
  list('anchorSizes', isPositive, 'positive numbers');
  list('aspectRatios', isPositive, 'positive numbers');
  list('maskHeadLayers', isPositiveInt, 'positive integers');
  const sizes = record.anchorSizes as number[];
  if (sizes.length !== layers.length + 1) {
    bad(`"anchorSizes" must have one size per pyramid level (${layers.length} returned layers + 'pool' = ${layers.length + 1}), got ${sizes.length}`);
  }
  return record as unknown as MaskRCNNConfig;
}

/**
 * Reads a detector's description from a safetensors file's metadata: the {@link MaskRCNNConfig} under
 * {@link MASKRCNN_CONFIG_METADATA_KEY} and the categories under {@link CATEGORIES_METADATA_KEY}, each
 * absent when the file has no such key (torchvision's files, older demo files for the categories).
 * Bad values are ValueErrors naming `where` and the key.
 */
export function readDetectorMetadata(metadata: Readonly<Record<string, string>>, where: string): DetectorMetadata {
  const out: DetectorMetadata = {};
  const configText = metadata[MASKRCNN_CONFIG_METADATA_KEY];
  if (configText !== undefined) out.config = parseMaskRCNNConfig(configText, where);
  const categoriesText = metadata[CATEGORIES_METADATA_KEY];
  if (categoriesText !== undefined) {
    const bad = (): never => {
      throw new ValueError(`${where}: metadata "${CATEGORIES_METADATA_KEY}" must be a JSON array of { "id": integer, "name": string }, got ${categoriesText.slice(0, 60)}`);
    };
    let json: unknown;
    try {
      json = JSON.parse(categoriesText);
    } catch {
      bad();
    }
    const ok = (c: unknown): boolean => c !== null && typeof c === 'object' && Number.isInteger((c as DetectorCategory).id) && typeof (c as DetectorCategory).name === 'string';
    if (!Array.isArray(json) || !json.every(ok)) bad();
    out.categories = (json as DetectorCategory[]).map(({ id, name }) => ({ id, name }));
  }
  return out;
}

/**
 * Builds the Mask R-CNN a {@link MaskRCNNConfig} describes, with `numClasses` classes (background
 * included) and the config's image size and inference settings unless `options` gives them. Its
 * state-dict keys are torchvision's (`backbone.body.*`, `backbone.fpn.*`, `rpn.*`, `roi_heads.*`).
 * Owns its parts; the caller disposes the model.
 */
export function maskrcnnFromConfig(config: MaskRCNNConfig, options: MaskRCNNFromConfigOptions): MaskRCNN {
  const { numClasses, generator } = options;
  const backbone = resnetFpnBackbone(config.backbone, {
    trainableLayers: 5,
    returnedLayers: config.returnedLayers,
    outChannels: config.fpnChannels,
    normLayer: (c) => new BatchNorm2d(c),
    generator,
  });
  const parts: Array<{ dispose(): void }> = [backbone];
  const own = <M extends { dispose(): void }>(m: M): M => (parts.push(m), m);
  try {
    const levels = config.returnedLayers.map((_, i) => String(i));
    const c = config.fpnChannels;
    const mask = config.maskHeadLayers;
    const maskWidth = mask[mask.length - 1];
    return new MaskRCNN(backbone, {
      minSize: options.minSize ?? config.minSize,
      maxSize: options.maxSize ?? config.maxSize,
      generator,
      rpnAnchorGenerator: new AnchorGenerator(config.anchorSizes.map((s) => [s]), config.anchorSizes.map(() => config.aspectRatios)),
      rpnBatchSizePerImage: config.rpnBatchSizePerImage,
      rpnPreNmsTopNTrain: config.rpnPreNmsTopNTrain,
      rpnPostNmsTopNTrain: config.rpnPostNmsTopNTrain,
      rpnPreNmsTopNTest: options.rpnPreNmsTopNTest ?? config.rpnPreNmsTopNTest,
      rpnPostNmsTopNTest: options.rpnPostNmsTopNTest ?? config.rpnPostNmsTopNTest,
      ...(options.boxScoreThresh === undefined ? {} : { boxScoreThresh: options.boxScoreThresh }),
      ...(options.boxDetectionsPerImg === undefined ? {} : { boxDetectionsPerImg: options.boxDetectionsPerImg }),
      boxRoiPool: new MultiScaleRoIAlign(levels, 7, 2),
      boxHead: own(new TwoMLPHead(c * 7 * 7, config.representationSize, { generator })),
      boxPredictor: own(new FastRCNNPredictor(config.representationSize, numClasses, { generator })),
      boxBatchSizePerImage: config.boxBatchSizePerImage,
      maskRoiPool: new MultiScaleRoIAlign(levels, 14, 2),
      maskHead: own(new MaskRCNNHeads(c, mask, 1, { generator })),
      maskPredictor: own(new MaskRCNNPredictor(maskWidth, maskWidth, numClasses, { generator })),
    });
  } catch (e) {
    parts.forEach((m) => m.dispose()); // the parts built so far
    throw e;
  }
}
