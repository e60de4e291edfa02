import * as tf from '@tensorflow/tfjs-core';
import {
  AnchorGenerator,
  BalancedPositiveNegativeSampler,
  RPNHead,
  RegionProposalNetwork,
  type ImageBatch,
  type SamplerPermutations,
} from '@residual/rpn';
import { expectAllClose, expectNoLeak, fixturePath, loadFixture, useBackend } from '@residual/test-utils';

// Fixture: tools/fixtures/rpn.py (torchvision 0.14 RegionProposalNetwork on a 2-image 64×96 batch,
// five 8-channel levels). Head outputs and losses at 1e-5 relative; proposals are compared as
// boxes in order at 1e-4 px (decode → exp → clip in float32, different op order than torch).

let fx: Map<string, tf.Tensor>;
let meta: Record<string, string>;
let head: RPNHead;
let images: ImageBatch;
let features: Map<string, tf.Tensor4D>;
const NAMES = ['0', '1', '2', '3', 'pool'];

beforeAll(async () => {
  await useBackend();
  ({ tensors: fx, metadata: meta } = loadFixture(fixturePath(`${__dirname}/..`, 'rpn.safetensors')));
  head = new RPNHead(8, 3);
  const sd = new Map([...fx].filter(([k]) => k.startsWith('sd.')).map(([k, t]) => [k.slice(3), t]));
  head.loadStateDict(sd);
  images = { tensor: tf.zeros([2, 64, 96, 3]) as tf.Tensor4D, imageSizes: [[60, 90], [64, 77]] };
  features = new Map(NAMES.map((n) => [n, fx.get(`feat.${n}`) as tf.Tensor4D]));
});
afterAll(() => {
  tf.dispose([...fx.values(), images.tensor]);
  head.dispose();
});

function rpn(pre: number, post: number, perms?: SamplerPermutations[]): RegionProposalNetwork {
  const sampler = new BalancedPositiveNegativeSampler(256, 0.5);
  return new RegionProposalNetwork({
    anchorGenerator: new AnchorGenerator(),
    head,
    preNmsTopN: { training: pre, testing: pre },
    postNmsTopN: { training: post, testing: post },
    sampler: perms ? { sample: (labels) => sampler.sample(labels, perms) } : undefined,
  });
}

function perms(prefix: string): SamplerPermutations[] {
  return [0, 1].map((i) => ({
    positive: fx.get(`${prefix}perm.${i}.pos`)!.dataSync(),
    negative: fx.get(`${prefix}perm.${i}.neg`)!.dataSync(),
  }));
}

const targets = () => [0, 1].map((i) => ({ boxes: fx.get(`target.${i}`) as tf.Tensor2D }));

describe('RPNHead', () => {
  it('matches torchvision per level (logits [N,H,W,3], deltas [N,H,W,12])', () => {
    const { logits, bboxReg } = head.forward([...features.values()]);
    logits.forEach((l, i) => expectAllClose(l, fx.get(`head.logits.${i}`)!, { rtol: 1e-5, atol: 1e-5 }));
    bboxReg.forEach((b, i) => expectAllClose(b, fx.get(`head.bbox.${i}`)!, { rtol: 1e-5, atol: 1e-5 }));
    tf.dispose([...logits, ...bboxReg]);
  });

  it("has torchvision's keys for convDepth 1 and 2", () => {
    expect([...head.namedParameters().keys()]).toEqual([
      'conv.0.0.weight',
      'conv.0.0.bias',
      'cls_logits.weight',
      'cls_logits.bias',
      'bbox_pred.weight',
      'bbox_pred.bias',
    ]);
    const deep = new RPNHead(8, 3, 2);
    expect([...deep.namedParameters().keys()]).toEqual(JSON.parse(meta.keys2));
    deep.dispose();
  });

  it('leaks nothing', async () => {
    await expectNoLeak(() => head.forward([...features.values()]));
  });
});

describe('RegionProposalNetwork', () => {
  it('gives torchvision’s eval proposals (top-n per level, clip, NMS per level, post top-n) and no losses', () => {
    const net = rpn(50, 30).eval();
    const { proposals, losses } = net.forward(images, features);
    expect(losses).toEqual({});
    proposals.forEach((p, i) => expectAllClose(p, fx.get(`eval.proposals.${i}`)!, { rtol: 0, atol: 1e-4 }));
    tf.dispose(proposals);
    net.anchorGenerator.dispose();
  });

  it('gives torchvision’s training proposals, losses and head gradients with torch’s sampler draws', () => {
    const net = rpn(60, 40, perms('')).train();
    const { proposals } = net.forward(images, features, targets());
    proposals.forEach((p, i) => expectAllClose(p, fx.get(`train.proposals.${i}`)!, { rtol: 0, atol: 1e-4 }));
    tf.dispose(proposals);
    const { value, grads } = tf.variableGrads(() => {
      const out = net.forward(images, features, targets());
      tf.dispose(out.proposals);
      expectAllClose(out.losses.loss_objectness!, fx.get('train.loss_objectness')!);
      expectAllClose(out.losses.loss_rpn_box_reg!, fx.get('train.loss_rpn_box_reg')!);
      return tf.add(out.losses.loss_objectness!, out.losses.loss_rpn_box_reg!) as tf.Scalar;
    }, [...head.namedParameters().values()]);
    const sd = net.head.namedParameters();
    for (const [key, v] of sd) {
      const torchGrad = fx.get(`grad.${key}`)!;
      const g = grads[v.name];
      // Gradients in tfjs layout; compare in torch layout through the conv layout.
      const asTorch = g.rank === 4 ? tf.transpose(g, [3, 2, 0, 1]) : g;
      expectAllClose(asTorch, torchGrad, { rtol: 1e-4, atol: 1e-6 });
      if (asTorch !== g) asTorch.dispose();
    }
    tf.dispose([value, ...Object.values(grads)]);
    net.anchorGenerator.dispose();
  });

  it('trains on an image without boxes (all its anchors negative)', () => {
    const net = rpn(60, 40, perms('empty.')).train();
    const { proposals, losses } = net.forward(images, features, [targets()[0], { boxes: tf.zeros([0, 4]) as tf.Tensor2D }]);
    expectAllClose(losses.loss_objectness!, fx.get('empty.loss_objectness')!);
    expectAllClose(losses.loss_rpn_box_reg!, fx.get('empty.loss_rpn_box_reg')!);
    tf.dispose([...proposals, ...Object.values(losses)]);
    net.anchorGenerator.dispose();
  });

  it('leaks nothing in eval or training (anchor cache aside)', async () => {
    const net = rpn(60, 40).train();
    const warm = net.forward(images, features, targets()); // fills the anchor cache
    tf.dispose([...warm.proposals, ...Object.values(warm.losses)]);
    const zeros = tf.zeros([0, 4]) as tf.Tensor2D;
    await expectNoLeak(() => net.forward(images, features, [targets()[0], { boxes: zeros }]));
    net.eval();
    await expectNoLeak(() => net.forward(images, features));
    zeros.dispose();
    net.anchorGenerator.dispose();
  });

  it('requires targets in training mode and checks their shapes', () => {
    const net = rpn(10, 10).train();
    expect(() => net.forward(images, features)).toThrow('RegionProposalNetwork.forward: targets are required in training mode');
    const bad = tf.zeros([2, 5]) as tf.Tensor2D;
    expect(() => net.forward(images, features, [targets()[0], { boxes: bad }])).toThrow(
      'RegionProposalNetwork.forward: targets[1].boxes must be [N,4], got [2,5]',
    );
    expect(() => net.forward({ tensor: images.tensor, imageSizes: [[60, 90]] }, features, targets())).toThrow(
      'RegionProposalNetwork.forward: images.imageSizes must have one [h, w] per image (2), got 1',
    );
    bad.dispose();
  });
});
