import { ValueError, type Segmentation } from '@residual/core';

/** A COCO `images` entry. */
export interface CocoImage {
  id: number;
  /** Path relative to the image folder. */
  file_name: string;
  width: number;
  height: number;
}

/** A COCO `annotations` entry (instances). */
export interface CocoAnnotation {
  id: number;
  image_id: number;
  category_id: number;
  /** [x, y, width, height] in pixels. */
  bbox: [number, number, number, number];
  /** Polygons or RLE (uncompressed or compressed); required when masks are decoded. */
  segmentation?: Segmentation;
  /** Segment area in pixels²; when absent the dataset uses the mask area (or the box area without a segmentation). */
  area?: number;
  /** 1 for a crowd region (RLE), default 0. */
  iscrowd?: number;
}

/** A COCO `categories` entry. */
export interface CocoCategory {
  id: number;
  name: string;
  supercategory?: string;
}

/** A COCO instances file (only the fields residual reads are typed; others are kept). */
export interface CocoDatasetJson {
  images: CocoImage[];
  annotations: CocoAnnotation[];
  categories: CocoCategory[];
  [key: string]: unknown;
}

type Obj = Record<string, unknown>;

/**
 * Checks a parsed COCO instances JSON: the three arrays exist; every image has an integer `id`
 * (unique), a string `file_name` and positive integer `width`/`height`; every category an integer
 * `id` (unique) and a string `name`; every annotation an `id`, a known `image_id` and `category_id`,
 * a `bbox` of four finite numbers (a zero or negative width or height is allowed here: such boxes
 * are skipped when targets are built, as torchvision's reference does), a polygon list or RLE `segmentation`
 * when `requireSegmentation`, and `iscrowd` 0/1 if present. Throws ValueError naming `source`
 * (the file), the entry and its id. Returns the same object, typed.
 */
export function validateCocoJson(json: unknown, source: string, requireSegmentation: boolean): CocoDatasetJson {
  const where = `CocoDataset: ${source}`;
  if (!isObj(json)) throw new ValueError(`${where}: expected a JSON object, got ${kind(json)}`);
  for (const key of ['images', 'annotations', 'categories']) {
    if (!Array.isArray(json[key])) throw new ValueError(`${where}: missing "${key}" array`);
  }
  const imageIds = new Set<number>();
  (json.images as unknown[]).forEach((im, i) => {
    const at = `${where}: images[${i}]`;
    if (!isObj(im)) throw new ValueError(`${at}: expected an object, got ${kind(im)}`);
    const id = requireInt(im, 'id', at);
    const atId = `${at} (id ${id})`;
    if (imageIds.has(id)) throw new ValueError(`${atId}: duplicate image id`);
    imageIds.add(id);
    if (typeof im.file_name !== 'string') throw new ValueError(missing(atId, 'file_name', 'a string', im));
    for (const f of ['width', 'height']) {
      if (requireInt(im, f, atId) <= 0) throw new ValueError(`${atId}: "${f}" must be a positive integer, got ${String(im[f])}`);
    }
  });
  const categoryIds = new Set<number>();
  (json.categories as unknown[]).forEach((c, i) => {
    const at = `${where}: categories[${i}]`;
    if (!isObj(c)) throw new ValueError(`${at}: expected an object, got ${kind(c)}`);
    const id = requireInt(c, 'id', at);
    if (categoryIds.has(id)) throw new ValueError(`${at} (id ${id}): duplicate category id`);
    categoryIds.add(id);
    if (typeof c.name !== 'string') throw new ValueError(missing(`${at} (id ${id})`, 'name', 'a string', c));
  });
  (json.annotations as unknown[]).forEach((a, i) => {
    const at = `${where}: annotations[${i}]`;
    if (!isObj(a)) throw new ValueError(`${at}: expected an object, got ${kind(a)}`);
    const id = a.id;
    if (typeof id !== 'number') throw new ValueError(missing(at, 'id', 'a number', a));
    const atId = `${at} (id ${id})`;
    if (!imageIds.has(requireInt(a, 'image_id', atId))) {
      throw new ValueError(`${atId}: image_id ${String(a.image_id)} is not in "images"`);
    }
    if (!categoryIds.has(requireInt(a, 'category_id', atId))) {
      throw new ValueError(`${atId}: category_id ${String(a.category_id)} is not in "categories"`);
    }
    const b = a.bbox;
    if (!Array.isArray(b) || b.length !== 4 || !b.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw new ValueError(missing(atId, 'bbox', '[x, y, width, height] (4 finite numbers)', a));
    }
    if (a.iscrowd !== undefined && a.iscrowd !== 0 && a.iscrowd !== 1) {
      throw new ValueError(`${atId}: "iscrowd" must be 0 or 1, got ${JSON.stringify(a.iscrowd)}`);
    }
    if (a.area !== undefined && (typeof a.area !== 'number' || !(a.area >= 0))) {
      throw new ValueError(`${atId}: "area" must be a non-negative number, got ${JSON.stringify(a.area)}`);
    }
    const seg = a.segmentation;
    if (seg === undefined) {
      if (requireSegmentation) {
        throw new ValueError(`${atId}: missing field "segmentation" (needed for masks; pass { masks: false } to skip masks)`);
      }
    } else if (!Array.isArray(seg) && !(isObj(seg) && 'size' in seg && 'counts' in seg)) {
      throw new ValueError(`${atId}: "segmentation" must be a polygon list or an RLE { size, counts }, got ${kind(seg)}`);
    }
  });
  return json as unknown as CocoDatasetJson;
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function kind(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v;
}

function requireInt(o: Obj, field: string, at: string): number {
  const v = o[field];
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ValueError(missing(at, field, 'an integer', o));
  return v;
}

function missing(at: string, field: string, expected: string, o: Obj): string {
  if (!(field in o)) return `${at}: missing field "${field}" (expected ${expected})`;
  return `${at}: "${field}" must be ${expected}, got ${JSON.stringify(o[field])}`;
}
