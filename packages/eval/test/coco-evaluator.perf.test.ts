import { CocoEvaluator, type CocoAnnotation, type CocoDatasetJson, type CocoResult } from '@residual/eval';

// A COCO-val-like load: 500 images, 10 categories, ~7 objects and exactly 100 detections per image.
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function makeSet(numImages: number, detsPerImage: number): { gt: CocoDatasetJson; results: CocoResult[] } {
  const rand = lcg(7);
  const categories = Array.from({ length: 10 }, (_, i) => ({ id: i + 1, name: `c${i + 1}` }));
  const images = Array.from({ length: numImages }, (_, i) => ({ id: i + 1, height: 480, width: 640 }));
  const annotations: CocoAnnotation[] = [];
  const results: CocoResult[] = [];
  for (const img of images) {
    const boxes: Array<{ cat: number; bbox: number[] }> = [];
    const n = 2 + Math.floor(rand() * 11);
    for (let j = 0; j < n; j++) {
      const w = 5 + rand() * 200;
      const h = 5 + rand() * 200;
      const bbox = [rand() * (640 - w), rand() * (480 - h), w, h];
      const cat = 1 + Math.floor(rand() * 10);
      boxes.push({ cat, bbox });
      annotations.push({ id: annotations.length + 1, image_id: img.id, category_id: cat, bbox, area: w * h * 0.8, iscrowd: rand() < 0.03 ? 1 : 0 });
    }
    for (let d = 0; d < detsPerImage; d++) {
      const src = boxes[d % boxes.length];
      const [x, y, w, h] = src.bbox;
      const s = d < boxes.length * 2 ? 0.1 : 0.6; // a few good detections, then noisy ones
      const bbox = [x + (rand() - 0.5) * s * w, y + (rand() - 0.5) * s * h, w * (1 + (rand() - 0.5) * s), h * (1 + (rand() - 0.5) * s)];
      const cat = rand() < 0.8 ? src.cat : 1 + Math.floor(rand() * 10);
      results.push({ image_id: img.id, category_id: cat, bbox, score: Math.round(rand() * 1000) / 1000 });
    }
  }
  return { gt: { images, categories, annotations }, results };
}

describe('CocoEvaluator performance', () => {
  it('evaluates 500 images × 100 bbox detections in well under a few seconds', () => {
    const { gt, results } = makeSet(500, 100);
    expect(results).toHaveLength(50_000);
    const t0 = performance.now();
    const r = new CocoEvaluator(gt).evaluate(results, 'bbox');
    const ms = performance.now() - t0;
    console.log(`CocoEvaluator bbox, 500 images × 100 detections: ${ms.toFixed(0)} ms; AP ${r.named.AP.toFixed(3)}`);
    expect(r.named.AP).toBeGreaterThan(0.05);
    expect(r.named.AP).toBeLessThan(0.9);
    // measured ~1 s under jest on the 2-core dev box; the bound leaves room for a loaded machine
    expect(ms).toBeLessThan(5000);
  });
});
