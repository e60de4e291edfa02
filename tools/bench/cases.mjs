// The bench's cases: what each measures, its goal (issue 9: ratio of our time to PyTorch's on the
// same machine in the same run), and how to build it in tfjs. tools/bench/torch_bench.py builds the
// same ids on the PyTorch side.
import * as tf from '@tensorflow/tfjs-core';
import { Conv2d, Generator, SGD, crossEntropy, fuseForInference } from '@residual/core';
import { resnet50 } from '@residual/resnet';
import { maeVitBasePatch16 } from '@residual/mae';
import { fasterrcnnResnet50Fpn, trainStep } from '@residual/faster-rcnn';
import { maskrcnnResnet50Fpn } from '@residual/mask-rcnn';

/**
 * id → { label(batch), goal (max ratio ours/torch, or null when issue 9 sets none), onnxGoal (the same
 * for the onnxruntime engine, issue 12; absent: the case has no onnxruntime variant), fusable (an
 * inference case that `fused` runs with fuseForInference), build(batch, { engine, fused }) }. build returns (or resolves to) { step(): void | Promise<void> (disposes what it
 * makes), dispose(), extra?(): fields for the result line }. Inputs are NHWC here, NCHW on the torch
 * side (each framework's native layout), with the same number of elements.
 */
export const CASES = {
  'resnet50-fwd': { label: (n) => `ResNet-50 224 forward, batch ${n}`, goal: 1.5, onnxGoal: 1, fusable: true, build: (n, o) => resnetForward(n, o?.engine, o?.fused) },
  'mae-base-fwdbwd': { label: (n) => `MAE-base fwd+bwd, batch ${n}`, goal: 2, build: (n) => maeForwardBackward(n) },
  'resnet50-train': { label: (n) => `ResNet-50 224 train step, batch ${n}`, goal: null, build: (n) => resnetTrainStep(n) },
  'frcnn-r50-infer': {
    label: (n) => `Faster R-CNN R50-FPN ${DETECT_SIZE}×${DETECT_SIZE} inference, batch ${n}`, goal: null, onnxGoal: null, fusable: true,
    build: (n, o) => detectionInference(fasterrcnnResnet50Fpn, n, o?.engine, o?.fused),
  },
  'mrcnn-r50-infer': {
    label: (n) => `Mask R-CNN R50-FPN ${DETECT_SIZE}×${DETECT_SIZE} inference, batch ${n}`, goal: 2, onnxGoal: 1, fusable: true,
    build: (n, o) => detectionInference(maskrcnnResnet50Fpn, n, o?.engine, o?.fused),
  },
  'frcnn-r50-train': {
    label: (n) => `Faster R-CNN R50-FPN ${TRAIN_SIZE}×${TRAIN_SIZE} train step, batch ${n}`, goal: 3, build: (n) => detectionTrainStep(fasterrcnnResnet50Fpn, n, false),
  },
  'mrcnn-r50-train': {
    label: (n) => `Mask R-CNN R50-FPN ${TRAIN_SIZE}×${TRAIN_SIZE} train step, batch ${n}`, goal: 3, build: (n) => detectionTrainStep(maskrcnnResnet50Fpn, n, true),
  },
};

/**
 * Detection sizes (the same constants are in torch_bench.py): inference on DETECT_SIZE² images with
 * torchvision's default min/max size (800/1333, so nothing is resized), training on TRAIN_SIZE² images
 * with min size TRAIN_SIZE.
 */
export const DETECT_SIZE = 800;
export const TRAIN_SIZE = 256;

/** Ground-truth boxes of each training image (x1,y1,x2,y2 in TRAIN_SIZE pixels) and their labels. */
export const TRAIN_BOXES = [[16, 24, 120, 200], [100, 40, 240, 150], [60, 150, 200, 250]];
export const TRAIN_LABELS = [1, 17, 62];

/** Issue 9's memory goal: peak memory at most this multiple of PyTorch's for the same work. */
export const MEMORY_GOAL = 1.5;

/**
 * fuseForInference(module) traced at once on a 64×64 zero image, as the CLI's fuseTraced does, so that
 * the warm-up step already runs fused (and folds the weights, kept until unfuse). Then every conv weight
 * gets a fresh copy of its values, which frees tfjs-wasm's packed XNNPACK copies of the plain filters
 * that the trace made and the fused model never uses (~200 MB of peak RSS on ResNet-50).
 */
function fuseTraced(module, forward) {
  const fusion = fuseForInference(module);
  tf.tidy(() => {
    forward(tf.zeros([1, 64, 64, 3]));
  });
  for (const m of new Set(module.namedModules().values())) {
    if (!(m instanceof Conv2d)) continue;
    const copy = tf.add(m.weight, 0);
    m.weight.assign(copy);
    copy.dispose();
  }
  return fusion;
}

async function resnetForward(n, engine = 'tfjs', fused = false) {
  const gen = new Generator(0);
  const model = resnet50({ generator: gen }).eval();
  const x = gen.normalTensor([n, 224, 224, 3]);
  const fusion = fused ? fuseTraced(model, (input) => model.forward(input)) : null;
  if (engine === 'onnxruntime') {
    // The exported graph (NHWC input, copies in and out included), as benchResnet50Forward times it.
    const { OnnxSession, toOnnx } = await import('@residual/onnx');
    let session;
    try {
      session = await OnnxSession.create(toOnnx(model, { inputShape: [n, 3, 224, 224], dynamicBatch: true, layout: 'nhwc' }));
    } catch (e) {
      x.dispose();
      model.dispose();
      throw e;
    }
    return {
      step: async () => tf.dispose([...(await session.run({ input: x })).values()]),
      dispose: async () => {
        await session.release();
        x.dispose();
        model.dispose();
      },
    };
  }
  return {
    step: () => {
      const logits = model.forward(x);
      logits.dataSync(); // wait for the backend (a no-op wait on wasm/cpu, needed on async ones)
      logits.dispose();
    },
    dispose: () => {
      fusion?.unfuse();
      x.dispose();
      model.dispose();
    },
  };
}

function resnetTrainStep(n) {
  const gen = new Generator(0);
  const model = resnet50({ generator: gen }).train();
  const params = [...model.trainableParameters().values()];
  const optimizer = new SGD(params, { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
  const x = gen.normalTensor([n, 224, 224, 3]);
  const y = tf.tensor1d(Array.from({ length: n }, () => gen.randint(1000)), 'int32');
  return {
    step: () => {
      const { value, grads } = tf.variableGrads(() => crossEntropy(model.forward(x), y), params);
      optimizer.step(grads);
      value.dataSync();
      tf.dispose([value, grads]);
    },
    dispose: () => {
      tf.dispose([x, y]);
      optimizer.dispose();
      model.dispose();
    },
  };
}

function maeForwardBackward(n) {
  const gen = new Generator(0);
  const model = maeVitBasePatch16({ generator: gen }).train();
  const params = [...model.trainableParameters().values()];
  const x = gen.normalTensor([n, 224, 224, 3]);
  return {
    step: () => {
      // The tidy inside variableGrads frees pred and mask; only the loss and the grads come out.
      const { value, grads } = tf.variableGrads(() => model.forward(x, { maskRatio: 0.75 }).loss, params);
      value.dataSync();
      tf.dispose([value, grads]);
    },
    dispose: () => {
      x.dispose();
      model.dispose();
    },
  };
}

// Both sides: torchvision's COCO architecture (FrozenBatchNorm2d, 3 trainable backbone stages, 91 classes),
// random init. For inference the class scores are made deterministic so that the work does not depend
// on the random weights: cls_score weight 0 and bias 6 for class 1 (0 elsewhere), so every proposal is a
// class-1 candidate with score 0.82 (the other classes 0.002, under the 0.05 threshold); NMS then keeps up
// to 100 detections per image, as on a busy real image, and Mask R-CNN runs its mask head on them.
async function detectionInference(builder, n, engine = 'tfjs', fused = false) {
  const gen = new Generator(0);
  const model = builder({ numClasses: 91, generator: gen }).eval();
  const cls = model.roiHeads.boxPredictor.clsScore;
  const weight = tf.zerosLike(cls.weight);
  const bias = tf.tidy(() => tf.mul(tf.reshape(tf.oneHot(tf.tensor1d([1], 'int32'), 91), [91]), 6));
  cls.weight.assign(weight);
  cls.bias.assign(bias);
  tf.dispose([weight, bias]); // the variables hold their own reference to the data
  const images = Array.from({ length: n }, () => gen.uniform([DETECT_SIZE, DETECT_SIZE, 3]));
  if (engine === 'onnxruntime') {
    // After the class scores are set: the engine exports the weights it is made with.
    const { DENSE_STAGES, useEngine } = await import('@residual/onnx');
    await useEngine(model, 'onnxruntime');
    return {
      step: async () => tf.dispose(await model.predict(images)),
      // The last step's split: TypeScript (tfjs-wasm + plain loops) vs onnxruntime (DENSE_STAGES).
      extra: () => {
        const stages = model.engine.lastTimings;
        const dense = DENSE_STAGES.reduce((a, k) => a + stages[k], 0);
        return { stagesMs: stages, tsShare: 1 - dense / stages.total };
      },
      dispose: async () => {
        await useEngine(model, 'tfjs');
        tf.dispose(images);
        model.dispose();
      },
    };
  }
  // The backbone is where the Conv + FrozenBatchNorm + ReLU triples are (the heads have none).
  const fusion = fused ? fuseTraced(model.backbone, (x) => model.backbone.forward(x)) : null;
  return {
    step: () => {
      const { detections } = model.forward(images);
      for (const d of detections) d.scores.dataSync();
      tf.dispose(detections);
    },
    dispose: () => {
      fusion?.unfuse();
      tf.dispose(images);
      model.dispose();
    },
  };
}

function detectionTrainStep(builder, n, masks) {
  const gen = new Generator(0);
  const model = builder({ numClasses: 91, minSize: TRAIN_SIZE, generator: gen }).train();
  const params = [...model.trainableParameters().values()];
  const optimizer = new SGD(params, { lr: 0.01, momentum: 0.9, weightDecay: 1e-4 });
  const images = Array.from({ length: n }, () => gen.uniform([TRAIN_SIZE, TRAIN_SIZE, 3]));
  const target = () => ({
    boxes: tf.tensor2d(TRAIN_BOXES),
    labels: tf.tensor1d(TRAIN_LABELS, 'int32'),
    ...(masks ? { masks: tf.tidy(() => tf.stack(TRAIN_BOXES.map((b) => boxMask(b)))) } : {}),
  });
  const targets = images.map(() => target());
  return {
    step: () => {
      trainStep(model, optimizer, images, targets);
    },
    dispose: () => {
      tf.dispose([...images, ...targets.flatMap((t) => Object.values(t))]);
      optimizer.dispose();
      model.dispose();
    },
  };
}

// An int32 [TRAIN_SIZE, TRAIN_SIZE] mask: 1 inside the box (rows y1..y2-1, columns x1..x2-1).
function boxMask([x1, y1, x2, y2]) {
  return tf.tidy(() => {
    const rows = tf.logicalAnd(tf.greaterEqual(tf.range(0, TRAIN_SIZE), y1), tf.less(tf.range(0, TRAIN_SIZE), y2));
    const cols = tf.logicalAnd(tf.greaterEqual(tf.range(0, TRAIN_SIZE), x1), tf.less(tf.range(0, TRAIN_SIZE), x2));
    return tf.cast(tf.logicalAnd(tf.reshape(rows, [TRAIN_SIZE, 1]), tf.reshape(cols, [1, TRAIN_SIZE])), 'int32');
  });
}
