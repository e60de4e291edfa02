/** An 8-bit RGBA image, rows top to bottom (the layout of canvas ImageData). */
export interface RgbaImage {
  data: Uint8ClampedArray;
  width: number;
  height: number;
}

/** The samples the page offers: name → how it is drawn. */
export const SAMPLES: Readonly<Record<string, { width: number; height: number; seed: number }>> = {
  'shapes-1': { width: 320, height: 240, seed: 1 },
  'shapes-2': { width: 256, height: 256, seed: 2 },
};

// A 32-bit LCG (Numerical Recipes): the same pixels in every browser and in Node, no Math.random.
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/**
 * A synthetic scene like the shapes data set's (the demo's training data): dark noise with a filled
 * circle, square and triangle in saturated colours. Deterministic in `name`; throws for an unknown name.
 */
export function sampleScene(name: string): RgbaImage {
  const spec = SAMPLES[name];
  if (!spec) throw new Error(`sampleScene: unknown sample "${name}" (samples: ${Object.keys(SAMPLES).join(', ')})`);
  const { width, height, seed } = spec;
  const random = lcg(seed);
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const v = 20 + Math.floor(random() * 50);
    data.set([v, v, v + 10, 255], 4 * i);
  }
  const shapes = [
    { kind: 'circle', color: [230, 60, 50] },
    { kind: 'square', color: [60, 200, 80] },
    { kind: 'triangle', color: [70, 110, 240] },
  ] as const;
  for (const [k, shape] of shapes.entries()) {
    const r = Math.floor(Math.min(width, height) * (0.12 + 0.06 * random()));
    const cx = Math.floor(((k + 0.5) / shapes.length) * width + (random() - 0.5) * width * 0.1);
    const cy = Math.floor(height * (0.3 + 0.4 * random()));
    for (let y = Math.max(0, cy - r); y < Math.min(height, cy + r); y++) {
      for (let x = Math.max(0, cx - r); x < Math.min(width, cx + r); x++) {
        const dx = x - cx;
        const dy = y - cy;
        const inside =
          shape.kind === 'circle' ? dx * dx + dy * dy <= r * r : shape.kind === 'square' ? true : dy >= -r && Math.abs(dx) <= (dy + r) / 2;
        if (inside) data.set([...shape.color, 255], 4 * (y * width + x));
      }
    }
  }
  return { data, width, height };
}

/** RGB float32 values in [0, 1], HWC (the model's input layout), from an RGBA image. */
export function rgbaToRgbFloat(image: RgbaImage): Float32Array {
  const { data, width, height } = image;
  const out = new Float32Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    out[3 * i] = data[4 * i] / 255;
    out[3 * i + 1] = data[4 * i + 1] / 255;
    out[3 * i + 2] = data[4 * i + 2] / 255;
  }
  return out;
}
