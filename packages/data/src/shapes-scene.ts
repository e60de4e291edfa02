import { Generator, ValueError } from '@residual/core';

/** The shape classes of the synthetic set; ids are the COCO category ids (and the labels). */
export const SHAPE_CATEGORIES = [
  { id: 1, name: 'circle', supercategory: 'shape' },
  { id: 2, name: 'square', supercategory: 'shape' },
  { id: 3, name: 'triangle', supercategory: 'shape' },
  { id: 4, name: 'star', supercategory: 'shape' },
] as const;

/** Options of the synthetic shapes set (all sizes in pixels). */
export interface ShapesOptions {
  /** Number of images. */
  numImages: number;
  /** Image size: a side for square images or [height, width] (default 128). */
  imageSize?: number | readonly [number, number];
  /** Seed: the same seed and options give the same images, masks and files, byte for byte (default 0). */
  seed?: number;
  /** Shapes drawn per image, inclusive range (default 1 and 4). */
  minShapes?: number;
  maxShapes?: number;
  /** Diameter of a shape's circumscribed circle, inclusive range (default 16 and 64). */
  minShapeSize?: number;
  maxShapeSize?: number;
  /** A new shape is only placed if every earlier shape keeps at least this fraction of its area visible (default 0.5). */
  minVisibleFraction?: number;
  /** Amplitude of the uniform per-pixel noise, in 0..255 units (default 12). */
  noise?: number;
}

/** One instance of a scene: its visible part only. */
export interface ShapeInstance {
  categoryId: number;
  /** Row-major h·w 0/1 mask of the visible pixels. */
  mask: Uint8Array;
  /** Pixels the shape covered when painted, before later shapes occluded part of it. */
  fullArea: number;
}

/** A rendered scene: RGB pixels (row-major HWC) and its instances, bottom to top. */
export interface ShapesScene {
  height: number;
  width: number;
  pixels: Uint8Array;
  instances: ShapeInstance[];
}

/** Resolved options with defaults; throws ValueError for inconsistent values. */
export function resolveShapesOptions(options: ShapesOptions): Required<ShapesOptions> & { height: number; width: number } {
  const o = {
    imageSize: 128, seed: 0, minShapes: 1, maxShapes: 4, minShapeSize: 16, maxShapeSize: 64,
    minVisibleFraction: 0.5, noise: 12, ...options,
  };
  const [height, width] = typeof o.imageSize === 'number' ? [o.imageSize, o.imageSize] : o.imageSize;
  const bad = (what: string): never => {
    throw new ValueError(`ShapesDataset: ${what}`);
  };
  if (!Number.isInteger(o.numImages) || o.numImages < 1) bad(`numImages must be a positive integer, got ${o.numImages}`);
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 8 || width < 8) {
    bad(`imageSize must be integers ≥ 8, got ${height}×${width}`);
  }
  if (!(Number.isInteger(o.minShapes) && o.minShapes >= 1 && o.maxShapes >= o.minShapes)) {
    bad(`need 1 ≤ minShapes ≤ maxShapes, got ${o.minShapes} and ${o.maxShapes}`);
  }
  if (!(o.minShapeSize >= 4 && o.maxShapeSize >= o.minShapeSize && o.maxShapeSize <= Math.min(height, width))) {
    bad(`need 4 ≤ minShapeSize ≤ maxShapeSize ≤ min(height, width) = ${Math.min(height, width)}, got ${o.minShapeSize} and ${o.maxShapeSize}`);
  }
  return { ...o, height, width };
}

/**
 * Renders image `index` of the set: deterministic in (options, index), so any image can be made
 * on its own. A low-contrast striped background in muted colours, then shapes in saturated colours
 * painted bottom to top (later shapes occlude earlier ones; a placement that would leave an
 * earlier shape less than `minVisibleFraction` visible is redrawn elsewhere, up to 20 tries), then
 * uniform noise on every pixel. Shapes lie wholly inside the image; masks are the visible pixels.
 */
export function renderShapesScene(options: ShapesOptions, index: number): ShapesScene {
  const o = resolveShapesOptions(options);
  const { height: h, width: w } = o;
  // One stream per image: splitmix inside Generator spreads the mixed (seed, index) word.
  const g = new Generator((Math.imul(o.seed >>> 0, 0x9e3779b1) + Math.imul(index + 1, 0x85ebca6b)) >>> 0);
  const rgb = new Float32Array(h * w * 3);
  paintBackground(rgb, h, w, g);
  const owner = new Int32Array(h * w).fill(-1);
  const full: number[] = [];
  const visible: number[] = [];
  const categories: number[] = [];
  const count = o.minShapes + g.randint(o.maxShapes - o.minShapes + 1);
  for (let k = 0; k < count; k++) {
    for (let attempt = 0; attempt < 20; attempt++) {
      const categoryId = 1 + g.randint(SHAPE_CATEGORIES.length);
      const size = o.minShapeSize + g.random() * (o.maxShapeSize - o.minShapeSize);
      const r = size / 2;
      const cx = r + g.random() * (w - 2 * r);
      const cy = r + g.random() * (h - 2 * r);
      const pixels = rasterise(categoryId, cx, cy, r, g.random() * 2 * Math.PI, h, w);
      if (pixels.length === 0) continue;
      const lost = new Map<number, number>();
      for (const p of pixels) if (owner[p] >= 0) lost.set(owner[p], (lost.get(owner[p]) ?? 0) + 1);
      if ([...lost].some(([j, n]) => visible[j] - n < o.minVisibleFraction * full[j])) continue;
      for (const [j, n] of lost) visible[j] -= n;
      const colour = saturatedColour(g);
      for (const p of pixels) {
        owner[p] = categories.length;
        rgb.set(colour, p * 3);
      }
      full.push(pixels.length);
      visible.push(pixels.length);
      categories.push(categoryId);
      break;
    }
  }
  const pixels = new Uint8Array(h * w * 3);
  const round = Math.round;
  for (let i = 0; i < pixels.length; i++) {
    const v = round(rgb[i] + (g.random() * 2 - 1) * o.noise);
    pixels[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  const instances = categories.map((categoryId, k) => {
    const mask = new Uint8Array(h * w);
    for (let p = 0; p < owner.length; p++) if (owner[p] === k) mask[p] = 1;
    return { categoryId, mask, fullArea: full[k] };
  });
  return { height: h, width: w, pixels, instances };
}

function paintBackground(rgb: Float32Array, h: number, w: number, g: Generator): void {
  const base = 60 + g.random() * 80;
  const c1 = [0, 1, 2].map(() => base + (g.random() - 0.5) * 30);
  const c2 = c1.map((c) => c + (g.random() - 0.5) * 50);
  const angle = g.random() * Math.PI;
  const freq = 0.15 + g.random() * 0.35;
  const fx = Math.cos(angle) * freq;
  const fy = Math.sin(angle) * freq;
  const sin = Math.sin;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const t = 0.5 + 0.5 * sin(fx * x + fy * y);
      const p = (y * w + x) * 3;
      for (let c = 0; c < 3; c++) rgb[p + c] = c1[c] + (c2[c] - c1[c]) * t;
    }
  }
}

/** A bright saturated colour: HSV with s ∈ [0.7, 1], v ∈ [0.75, 1], any hue. */
function saturatedColour(g: Generator): number[] {
  const hue = g.random() * 6;
  const s = 0.7 + 0.3 * g.random();
  const v = 255 * (0.75 + 0.25 * g.random());
  const i = Math.floor(hue);
  const f = hue - i;
  const [p, q, t] = [v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))];
  return [[v, t, p], [q, v, p], [p, v, t], [p, q, v], [t, p, v], [v, p, q]][i % 6];
}

/** Row-major indices of the pixels whose centres lie inside the shape. */
function rasterise(categoryId: number, cx: number, cy: number, r: number, theta: number, h: number, w: number): number[] {
  const x0 = Math.max(0, Math.floor(cx - r));
  const x1 = Math.min(w - 1, Math.ceil(cx + r));
  const y0 = Math.max(0, Math.floor(cy - r));
  const y1 = Math.min(h - 1, Math.ceil(cy + r));
  const out: number[] = [];
  const poly = categoryId === 1 ? null : polygon(categoryId, cx, cy, r, theta);
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const px = x + 0.5;
      const py = y + 0.5;
      const inside = poly ? insidePolygon(poly, px, py) : (px - cx) ** 2 + (py - cy) ** 2 <= r * r;
      if (inside) out.push(y * w + x);
    }
  }
  return out;
}

/** Vertices [x0, y0, x1, y1, …] of a square, triangle or five-pointed star inscribed in radius r. */
function polygon(categoryId: number, cx: number, cy: number, r: number, theta: number): number[] {
  const radii = categoryId === 2 ? [r, r, r, r] : categoryId === 3 ? [r, r, r] : Array.from({ length: 10 }, (_, i) => (i % 2 ? 0.45 * r : r));
  const n = radii.length;
  return radii.flatMap((rad, i) => {
    const a = theta + (2 * Math.PI * i) / n;
    return [cx + rad * Math.cos(a), cy + rad * Math.sin(a)];
  });
}

/** Even-odd crossing test. */
function insidePolygon(v: number[], px: number, py: number): boolean {
  let inside = false;
  const n = v.length / 2;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const xi = v[2 * i];
    const yi = v[2 * i + 1];
    const xj = v[2 * j];
    const yj = v[2 * j + 1];
    if (yi > py !== yj > py && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}
