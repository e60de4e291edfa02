import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { fasterrcnnResnetFpn, type Detection, type GeneralizedRCNN } from '@residual/faster-rcnn';
import { maskrcnnResnetFpn } from '@residual/mask-rcnn';
import type { RegionProposalNetwork } from '@residual/rpn';
import { NoDrawGenerator, expectNoLeak, loadFormulaWeights, openFixture, useBackend, type Fixture, type KeyList } from '@residual/test-utils';
import { OnnxSession, OnnxruntimeUnavailableError, useEngine } from '../src/index.js';

// The same detector object on both engines against torchvision 0.14 (faster-rcnn's and mask-rcnn's
// e2e_r18 fixtures: formula weights, 160/256 px images, reused read-only). Tolerances are the tfjs
// path's (parity-spec §12.3): labels exact, boxes within 1e-3 px + 1e-5·|x|, scores within 1e-4,
// pasted mask probabilities within 1e-4.
const packages = path.join(__dirname, '..', '..');
const camel = (k: string): string => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

function config(fx: Fixture): Record<string, number> {
  return Object.fromEntries(Object.entries(fx.meta<Record<string, number>>('config')).map(([k, v]) => [camel(k), v]));
}

interface Worst {
  box: number;
  score: number;
  mask: number;
}

/** Pairs every reference detection of image i with one of ours; returns the largest differences. */
function compare(fx: Fixture, dets: Detection[], worst: Worst): void {
  dets.forEach((d, i) => {
    const want = { boxes: fx.get(`boxes.${i}`).dataSync(), scores: fx.get(`scores.${i}`).dataSync(), labels: fx.get(`labels.${i}`).dataSync() };
    const got = { boxes: d.boxes.dataSync(), scores: d.scores.dataSync(), labels: d.labels.dataSync() };
    expect(d.labels.dtype).toBe('int32');
    expect(got.scores.length).toBe(want.scores.length);
    expect(want.scores.length).toBeGreaterThan(0);
    const used = new Set<number>();
    for (let k = 0; k < want.scores.length; k++) {
      const close = (j: number): boolean =>
        !used.has(j) && got.labels[j] === want.labels[k] && Math.abs(got.scores[j] - want.scores[k]) <= 1e-4
        && [0, 1, 2, 3].every((c) => Math.abs(got.boxes[4 * j + c] - want.boxes[4 * k + c]) <= 1e-3 + 1e-5 * Math.abs(want.boxes[4 * k + c]));
      const j = close(k) ? k : got.scores.findIndex((_, jj) => close(jj));
      if (j < 0) throw new Error(`image ${i}: torchvision detection ${k} (label ${want.labels[k]}, score ${want.scores[k]}) has no match`);
      used.add(j);
      worst.score = Math.max(worst.score, Math.abs(got.scores[j] - want.scores[k]));
      for (let c = 0; c < 4; c++) worst.box = Math.max(worst.box, Math.abs(got.boxes[4 * j + c] - want.boxes[4 * k + c]));
      if (d.masks instanceof tf.Tensor) {
        const [, h, w] = d.masks.shape;
        const diff = tf.tidy(() =>
          tf.max(tf.abs(tf.sub(tf.slice(d.masks as tf.Tensor3D, [j, 0, 0], [1, h, w]), tf.slice(fx.get(`masks.${i}`), [k, 0, 0], [1, h, w])))).dataSync()[0],
        );
        worst.mask = Math.max(worst.mask, diff);
      }
    }
  });
}

const cases: Array<[string, string, () => Fixture, (fx: Fixture) => GeneralizedRCNN]> = [
  [
    'ResNet-18 FPN Faster R-CNN',
    'faster-rcnn',
    () => openFixture(path.join(packages, 'faster-rcnn'), 'e2e_r18'),
    (fx) => fasterrcnnResnetFpn('resnet18', { numClasses: 5, minSize: 160, maxSize: 256, generator: new NoDrawGenerator(0), ...config(fx) }),
  ],
  [
    'ResNet-18 FPN Mask R-CNN',
    'mask-rcnn',
    () => openFixture(path.join(packages, 'mask-rcnn'), 'e2e_r18'),
    (fx) => maskrcnnResnetFpn('resnet18', { minSize: 160, maxSize: 256, generator: new NoDrawGenerator(0), ...config(fx) }),
  ],
];

describe.each(cases)('%s on the onnxruntime engine', (name, _pkg, open, build) => {
  let fx: Fixture;
  let model: GeneralizedRCNN;
  beforeAll(async () => {
    await useBackend();
    fx = open();
    model = build(fx);
    loadFormulaWeights(model, fx.meta<KeyList>('keys'));
    model.eval();
  }, 120000);
  afterAll(async () => {
    await useEngine(model, 'tfjs');
    model?.dispose();
    fx?.dispose();
  });

  it("predicts torchvision's detections (and masks) within the tfjs path's tolerances, without leaking", async () => {
    await useEngine(model, 'onnxruntime', { intraOpNumThreads: 1 });
    expect(model.engine?.name).toBe('onnxruntime');
    const images = [0, 1].filter((i) => fx.has(`input.${i}`)).map((i) => fx.get<tf.Tensor3D>(`input.${i}`));
    const worst: Worst = { box: 0, score: 0, mask: 0 };
    await expectNoLeak(async () => {
      const dets = await model.predict(images);
      (model.rpn as RegionProposalNetwork).anchorGenerator.dispose(); // its grid cache is not a leak
      compare(fx, dets, worst);
      return dets;
    });
    process.stdout.write(`${name} onnxruntime: max |Δbox| ${worst.box.toExponential(2)} px, |Δscore| ${worst.score.toExponential(2)}, |Δmask| ${worst.mask.toExponential(2)}\n`);
    expect(worst.mask).toBeLessThanOrEqual(1e-4);
  }, 120000);

  it("goes back to tfjs with useEngine(model, 'tfjs') and still matches", async () => {
    await useEngine(model, 'tfjs');
    expect(model.engine).toBeNull();
    const images = [0, 1].filter((i) => fx.has(`input.${i}`)).map((i) => fx.get<tf.Tensor3D>(`input.${i}`));
    const dets = await model.predict(images);
    try {
      compare(fx, dets, { box: 0, score: 0, mask: 0 });
    } finally {
      tf.dispose(dets.flatMap((d) => [d.boxes, d.scores, d.labels, ...(d.masks instanceof tf.Tensor ? [d.masks] : [])]));
    }
  }, 120000);
});

describe('useEngine', () => {
  it('names the missing optional package when onnxruntime cannot be loaded', async () => {
    await expect(OnnxSession.create(new Uint8Array(0), { packageName: 'onnxruntime-node-absent' })).rejects.toThrow(OnnxruntimeUnavailableError);
    await expect(OnnxSession.create(new Uint8Array(0), { packageName: 'onnxruntime-node-absent' })).rejects.toThrow(
      /^the onnxruntime engine needs the optional package onnxruntime-node-absent \(npm install onnxruntime-node-absent\): Cannot find module 'onnxruntime-node-absent'/,
    );
  });

  it('rejects an unknown engine name', async () => {
    await expect(useEngine({} as GeneralizedRCNN, 'webgpu' as 'tfjs')).rejects.toThrow("useEngine: engine must be 'tfjs' or 'onnxruntime', got 'webgpu'");
  });
});
