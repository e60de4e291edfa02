import type * as tf from '@tensorflow/tfjs-core';
import { expectAllClose, expectNoLeak, useBackend } from '@residual/test-utils';
import { fasterrcnnResnetFpn } from '../src/faster-rcnn-builders.js';
import type { FasterRCNN, FasterRCNNOptions } from '../src/faster-rcnn.js';
import type { Detection, LossName } from '../src/detection-types.js';
import { fixture, type Fixture } from './fixture.js';
import { NoDrawGenerator, loadFormulaWeights, type KeyList } from './formula-weights.js';

// The whole detector — transform, ResNet-FPN, @residual/rpn's RegionProposalNetwork (our anchors, head,
// top-k, NMS), RoIHeads, postprocess — against torchvision 0.14's FasterRCNN with the same formula
// weights (tools/fixtures/faster_rcnn.py, e2e_*). The R50 run (~40 s on 2 cores) only runs with
// RESIDUAL_TEST_LARGE=1; the R18 run always does.
const large = process.env.RESIDUAL_TEST_LARGE === '1';

/** torchvision's snake_case FasterRCNN arguments (fixture metadata `config`) as our options. */
function camelOptions(config: Record<string, number>): FasterRCNNOptions {
  return Object.fromEntries(
    Object.entries(config).map(([k, v]) => [k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), v]),
  ) as FasterRCNNOptions;
}

function build(fx: Fixture, arch: 'resnet50' | 'resnet18', numClasses: number): FasterRCNN {
  const model = fasterrcnnResnetFpn(arch, {
    numClasses,
    minSize: 160,
    maxSize: 256,
    generator: new NoDrawGenerator(0), // every weight is overwritten below
    ...camelOptions(fx.meta('config')),
  });
  loadFormulaWeights(model, fx.meta<KeyList>('keys')); // strict: all torch keys, names and shapes
  return model.eval();
}

type Boxes = { boxes: Float32Array | Int32Array | Uint8Array; n: number };
type Tolerance = { atol: number; rtol: number };

/**
 * Pairs every reference box with one of ours (greedy; same position first) whose coordinates are all
 * within `atol + rtol·|reference|` (and that satisfies `extra`), as a set. Returns the largest
 * coordinate difference of the pairs and how many of them sit at a different position.
 */
function matchBoxes(got: Boxes, want: Boxes, tol: Tolerance, what: string, extra?: (j: number, k: number) => boolean): { maxErr: number; moved: number } {
  expect(got.n).toBe(want.n);
  const { abs, max } = Math; // bound once: global lookups are slow in jest's sandbox
  const used = new Uint8Array(got.n);
  let maxErr = 0;
  let moved = 0;
  const err = (j: number, k: number): number => {
    let e = 0;
    for (let c = 0; c < 4; c++) e = max(e, abs(got.boxes[4 * j + c] - want.boxes[4 * k + c]));
    return e;
  };
  const close = (j: number, k: number): boolean => {
    for (let c = 0; c < 4; c++) {
      const w = want.boxes[4 * k + c];
      if (!(abs(got.boxes[4 * j + c] - w) <= tol.atol + tol.rtol * abs(w))) return false;
    }
    return true;
  };
  const ok = (j: number, k: number): boolean => !used[j] && close(j, k) && (!extra || extra(j, k));
  for (let k = 0; k < want.n; k++) {
    let j = ok(k, k) ? k : -1;
    for (let jj = 0; j < 0 && jj < got.n; jj++) if (ok(jj, k)) j = jj;
    if (j < 0) {
      const box = Array.from(want.boxes.subarray(4 * k, 4 * k + 4)).join(', ');
      throw new Error(`${what}: torchvision box ${k} [${box}] has no match within ${tol.atol} px + ${tol.rtol}·|x|`);
    }
    used[j] = 1;
    maxErr = max(maxErr, err(j, k));
    if (j !== k) moved++;
  }
  return { maxErr, moved };
}

// Boxes: issue 5's 1e-3 px plus fp32's 1e-5 relative. Coordinates (up to 256 px) come out of 50+ float32
// conv layers whose summation order differs from torch's, and detections are decoded from the proposals,
// so they inherit that error. Measured worst (RPN proposals / detections): R18 1.8e-4 / 1.4e-4 px,
// R50 1.21e-3 / 1.42e-3 px (at coordinates ≈ 160, within 1e-3 + 1.6e-3); scores R18 6.3e-6, R50 1.03e-5.
const BOX_TOL: Tolerance = { atol: 1e-3, rtol: 1e-5 };

/**
 * RPN proposals (resized coordinates) as sets within BOX_TOL, then in order: both lists are sorted by
 * objectness, so only near-ties (logits equal up to float noise) may swap places.
 */
function expectProposals(fx: Fixture, name: string, proposals: Float32Array[]): void {
  proposals.forEach((p, i) => {
    const want = fx.get(`proposals.${i}`).dataSync() as Float32Array;
    const { moved } = matchBoxes({ boxes: p, n: p.length / 4 }, { boxes: want, n: want.length / 4 }, BOX_TOL, `${name} proposals of image ${i}`);
    expect(moved).toBeLessThanOrEqual(8); // measured: R18 0, R50 4 (two swapped pairs) of 300
  });
}

/** Detections (original pixels) as sets — boxes within BOX_TOL, scores within 1e-4, labels exact (issue 5) — then in order. */
function expectDetections(fx: Fixture, name: string, dets: Detection[]): void {
  dets.forEach((d, i) => {
    const want = { boxes: fx.get(`boxes.${i}`).dataSync(), scores: fx.get(`scores.${i}`).dataSync(), labels: fx.get(`labels.${i}`).dataSync() };
    const got = { boxes: d.boxes.dataSync(), scores: d.scores.dataSync(), labels: d.labels.dataSync() };
    expect(d.labels.dtype).toBe('int32');
    expect(want.scores.length).toBeGreaterThan(0);
    expectAllClose(got.scores as Float32Array, want.scores as Float32Array, { rtol: 0, atol: 1e-4 });
    const same = (j: number, k: number): boolean => got.labels[j] === want.labels[k] && Math.abs(got.scores[j] - want.scores[k]) <= 1e-4;
    const { moved } = matchBoxes({ boxes: got.boxes, n: got.scores.length }, { boxes: want.boxes, n: want.scores.length }, BOX_TOL, `${name} detections of image ${i}`, same);
    expect(moved).toBeLessThanOrEqual(4);
  });
}

describe.each([
  ['ResNet-18 FPN Faster R-CNN', 'e2e_r18', 'resnet18', 5, true],
  ['fasterrcnn_resnet50_fpn', 'e2e_r50', 'resnet50', 91, large],
] as const)('%s (formula weights) end to end through our RPN against torchvision', (_, name, arch, numClasses, enabled) => {
  const run = enabled ? it : it.skip;
  let fx: Fixture;
  let model: FasterRCNN;
  beforeAll(async () => {
    await useBackend();
    if (!enabled) return;
    fx = fixture(name);
    model = build(fx, arch, numClasses);
  }, 120000);
  afterAll(() => {
    model?.dispose();
    fx?.dispose();
  });

  run('proposes torchvision\'s RPN boxes and predicts its boxes, scores and labels, without leaking', async () => {
    const images = [fx.get<tf.Tensor3D>('input.0'), fx.get<tf.Tensor3D>('input.1')];
    const proposals: Float32Array[] = [];
    const rpnForward = model.rpn.forward.bind(model.rpn);
    const spy = jest.spyOn(model.rpn, 'forward').mockImplementation((...args) => {
      const out = rpnForward(...args);
      out.proposals.forEach((p) => proposals.push(p.dataSync() as Float32Array));
      return out;
    });
    try {
      await expectNoLeak(async () => {
        const dets = await model.predict(images);
        model.rpn.anchorGenerator.dispose(); // its grid cache (kept across calls by design) is not a leak
        expect(proposals.length).toBe(2);
        expectProposals(fx, name, proposals);
        expectDetections(fx, name, dets);
        return dets;
      });
    } finally {
      spy.mockRestore();
    }
  }, 240000);

  if (name !== 'e2e_r18') return;
  run('computes torchvision\'s four training losses with every RPN and RoI candidate sampled (an image without boxes included)', async () => {
    const train = fixture('e2e_r18_train');
    try {
      const images = [fx.get<tf.Tensor3D>('input.0'), fx.get<tf.Tensor3D>('input.1')];
      const targets = [0, 1].map((i) => ({ boxes: train.get<tf.Tensor2D>(`gt_boxes.${i}`), labels: train.get<tf.Tensor1D>(`gt_labels.${i}`) }));
      expect(targets[1].boxes.shape).toEqual([0, 4]);
      const names = train.meta<LossName[]>('loss_order');
      await expectNoLeak(() => {
        const losses = model.forwardTrain(images, targets);
        model.rpn.anchorGenerator.dispose(); // its grid cache is not a leak
        expect(Object.keys(losses).sort()).toEqual([...names].sort());
        for (const k of names) {
          // fp32 default tolerance; measured relative errors 0.8e-6 to 1.3e-6 (loss_objectness, loss_classifier).
          expectAllClose(losses[k].dataSync() as Float32Array, train.get(k).dataSync() as Float32Array, { rtol: 1e-5, atol: 1e-6 });
        }
        return losses;
      });
      expect(model.training).toBe(false); // forwardTrain restores eval mode
    } finally {
      train.dispose();
    }
  }, 120000);
});
