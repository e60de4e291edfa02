// Imported first, as every test here does: with @residual/core first, jest loads tfjs-core's ESM
// gradient files before its main entry and tensors lose their op handler (reported to core).
import '@tensorflow/tfjs-core';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SGD } from '@residual/core';
import { CocoDataset, disposeSample, writeShapesDataset } from '@residual/data';
import { trainStep, type GeneralizedRCNN } from '@residual/faster-rcnn';
import { useBackend } from '@residual/test-utils';
import { tinyFasterRcnn, tinyMaskRcnn } from './tiny-models.js';

// Issue 10: with data torchvision's reference trains on — boxes of zero or negative size (skipped),
// an image without annotations (an all-background target) — training goes on: every step of both
// detectors gives finite losses. (Data that is an error is covered by @residual/data's tests.)

describe('training on a COCO folder with skippable bad data', () => {
  let root: string;
  let file: string;
  let imageDir: string;
  let firstBoxes: number;
  beforeAll(async () => {
    await useBackend();
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'residual-bad-train-'));
    const shapes = await writeShapesDataset(root, { numImages: 2, imageSize: 64, minShapeSize: 16, maxShapeSize: 32, maxShapes: 2, seed: 3 });
    imageDir = shapes.imageDir;
    const json = JSON.parse(fs.readFileSync(shapes.annotationFile, 'utf8'));
    const first = json.images[0].id;
    firstBoxes = json.annotations.filter((a: { image_id: number }) => a.image_id === first).length;
    const bad = (id: number, bbox: number[]) => ({ id, image_id: first, category_id: 1, bbox, area: 0, iscrowd: 0, segmentation: [[10, 10, 12, 10, 12, 12]] });
    json.annotations.push(bad(1000, [10, 10, -5, 8]), bad(1001, [10, 10, 8, 0]), bad(1002, [70, 10, 5, 5]));
    json.images.push({ ...json.images[0], id: 99 }); // the same picture, no annotations
    file = path.join(root, 'with-bad-data.json');
    fs.writeFileSync(file, JSON.stringify(json));
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  // 48-pixel detectors: the 64-pixel images (the empty one too) are resized with their targets.
  it.each([
    ['Faster R-CNN', false, (n: number) => tinyFasterRcnn(0, n, [48, 48])],
    ['Mask R-CNN', true, (n: number) => tinyMaskRcnn(0, n, [48, 48])],
  ])('%s: every image trains with finite losses, the empty one included', async (_name, masks, build: (numClasses: number) => GeneralizedRCNN) => {
    const data = await CocoDataset.load(file, imageDir, { masks });
    const model = build(data.numClasses).train();
    const sgd = new SGD(model.trainableParameters(), { lr: 0.001, momentum: 0.9 });
    try {
      const seen: number[] = [];
      for (let i = 0; i < data.length; i++) {
        const s = await data.get(i);
        try {
          seen.push(s.target.boxes.shape[0]);
          const target = { boxes: s.target.boxes, labels: s.target.labels, ...(masks ? { masks: s.target.masks } : {}) };
          const losses = trainStep(model, sgd, [s.image], [target]);
          expect(Object.keys(losses)).toHaveLength(masks ? 5 : 4);
          expect(Object.values(losses).every(Number.isFinite)).toBe(true);
        } finally {
          disposeSample(s);
        }
      }
      expect(seen[0]).toBe(firstBoxes); // the three bad boxes were skipped
      expect(seen[2]).toBe(0); // image 99: no annotations, an empty target
    } finally {
      sgd.dispose();
      model.dispose();
    }
  });
});
