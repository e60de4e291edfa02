"""PyTorch side of `npm run bench`: times one case and prints one JSON line on stdout.

    /usr/bin/python3 tools/bench/torch_bench.py --case resnet50-fwd --batch 8 [--warmup 1] [--repeats 5] [--threads 2]

Cases (the same ids as tools/bench/cases.mjs): resnet50-fwd (torchvision resnet50, eval, no_grad,
224×224), resnet50-train (train mode, cross-entropy, backward, SGD step with momentum 0.9 and weight
decay 1e-4, zero_grad), mae-base-fwdbwd (mae_vit_base_patch16_dec512d8b, 224×224,
mask ratio 0.75, loss.backward(), no optimizer step). MAE comes from the official code when
`models_mae` imports (facebookresearch/mae on timm 0.3.2; directories from RESIDUAL_MAE_OFFICIAL and
RESIDUAL_TIMM, default /tmp/mae_official and /tmp/timm032, see tools/fixtures/vit.py), otherwise from
tools/bench/torch_mae.py (a re-implementation with the same shapes); the JSON says which.

Detection cases (torchvision's FasterRCNN / MaskRCNN on a ResNet-50 FPN with FrozenBatchNorm2d and 3
trainable stages, 91 classes, random init): frcnn-r50-infer and mrcnn-r50-infer (eval, no_grad, 800×800
images, default min/max size 800/1333, class scores made deterministic as in cases.mjs), frcnn-r50-train and
mrcnn-r50-train (256×256 images, min size 256, three fixed boxes per image (+ masks), summed losses,
backward, SGD step).

Timing: `warmup` untimed runs, then the median wall time of `repeats` runs (time.perf_counter).
Memory: the process's peak resident set (ru_maxrss; one process per case) and the resident set after
imports, before the model is built.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))


def rss_mb():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024
    return None


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def blas_libraries():
    """Shared libraries mapped into this process that provide BLAS / oneDNN (after a matmul ran)."""
    found = set()
    with open('/proc/self/maps') as f:
        for line in f:
            path = line.split()[-1] if len(line.split()) >= 6 else ''
            name = os.path.basename(path)
            if any(k in name for k in ('blas', 'mkl', 'dnnl', 'lapack')):
                found.add(os.path.realpath(path))
    return sorted(found)


def load_mae():
    official = os.environ.get('RESIDUAL_MAE_OFFICIAL', '/tmp/mae_official')
    timm_dir = os.environ.get('RESIDUAL_TIMM', '/tmp/timm032')
    for p in (timm_dir, official):
        if os.path.isdir(p) and p not in sys.path:
            sys.path.insert(0, p)
    try:
        import models_mae  # official facebookresearch/mae
        return models_mae.mae_vit_base_patch16_dec512d8b(), 'official facebookresearch/mae (models_mae.py, timm 0.3.2)'
    except Exception as e:  # noqa: BLE001 — any import problem means: use the re-implementation
        sys.path.insert(0, HERE)
        import torch_mae
        why = f'{type(e).__name__}: {e}'.splitlines()[0]
        return torch_mae.mae_vit_base_patch16(), f're-implementation tools/bench/torch_mae.py (official not importable: {why})'


def build(case, n):
    """Returns (step function, description) for batch size n."""
    torch.manual_seed(0)
    if case == 'resnet50-fwd':
        model = torchvision.models.resnet50().eval()
        x = torch.randn(n, 3, 224, 224)

        def step():
            with torch.no_grad():
                model(x)
        return step, 'torchvision resnet50, eval, no_grad'
    if case == 'resnet50-train':
        model = torchvision.models.resnet50().train()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
        x = torch.randn(n, 3, 224, 224)
        y = torch.randint(0, 1000, (n,))

        def step():
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
        return step, 'torchvision resnet50, train, cross-entropy, backward, SGD(momentum 0.9, wd 1e-4)'
    if case == 'mae-base-fwdbwd':
        model, impl = load_mae()
        model.train()
        x = torch.randn(n, 3, 224, 224)

        def step():
            model.zero_grad(set_to_none=True)
            loss, _, _ = model(x, mask_ratio=0.75)
            loss.backward()
        return step, impl
    if case in DETECTION_CASES:
        return detection_case(case, n)
    raise SystemExit(f'torch_bench.py: unknown --case {case!r}')


# The detection cases, with the constants of tools/bench/cases.mjs.
DETECTION_CASES = ('frcnn-r50-infer', 'mrcnn-r50-infer', 'frcnn-r50-train', 'mrcnn-r50-train')
DETECT_SIZE = 800
TRAIN_SIZE = 256
TRAIN_BOXES = [[16, 24, 120, 200], [100, 40, 240, 150], [60, 150, 200, 250]]
TRAIN_LABELS = [1, 17, 62]


def detector(mask, **kw):
    """torchvision's COCO architecture (FrozenBatchNorm2d, 3 trainable stages, 91 classes), random init.

    (`fasterrcnn_resnet50_fpn(weights=None, weights_backbone=None)` would build plain BatchNorm2d with all
    five stages trainable; the COCO weights' structure is the one users run, and the one ours builds.)
    """
    from torchvision.models import resnet50
    from torchvision.models.detection import FasterRCNN, MaskRCNN
    from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor
    from torchvision.ops.misc import FrozenBatchNorm2d
    backbone = _resnet_fpn_extractor(resnet50(norm_layer=FrozenBatchNorm2d), 3)
    return (MaskRCNN if mask else FasterRCNN)(backbone, num_classes=91, **kw)


def detection_case(case, n):
    mask = case.startswith('mrcnn')
    name = 'Mask R-CNN' if mask else 'Faster R-CNN'
    if case.endswith('-infer'):
        model = detector(mask).eval()
        # The same deterministic class scores as cases.mjs: every proposal a class-1 candidate (0.82).
        with torch.no_grad():
            model.roi_heads.box_predictor.cls_score.weight.zero_()
            model.roi_heads.box_predictor.cls_score.bias.zero_()
            model.roi_heads.box_predictor.cls_score.bias[1] = 6.0
        images = [torch.rand(3, DETECT_SIZE, DETECT_SIZE) for _ in range(n)]

        def step():
            with torch.no_grad():
                model(images)
        return step, f'torchvision {name} R50-FPN (FrozenBN), eval, no_grad, min/max size 800/1333'
    model = detector(mask, min_size=TRAIN_SIZE).train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=0.01, momentum=0.9, weight_decay=1e-4)
    images = [torch.rand(3, TRAIN_SIZE, TRAIN_SIZE) for _ in range(n)]
    boxes = torch.tensor(TRAIN_BOXES, dtype=torch.float32)
    target = {'boxes': boxes, 'labels': torch.tensor(TRAIN_LABELS)}
    if mask:
        masks = torch.zeros(len(TRAIN_BOXES), TRAIN_SIZE, TRAIN_SIZE, dtype=torch.uint8)
        for k, (x1, y1, x2, y2) in enumerate(TRAIN_BOXES):
            masks[k, y1:y2, x1:x2] = 1
        target['masks'] = masks
    targets = [dict(target) for _ in range(n)]

    def step():
        opt.zero_grad(set_to_none=True)
        losses = model(images, targets)
        sum(losses.values()).backward()
        opt.step()
    return step, f'torchvision {name} R50-FPN (FrozenBN, 3 trainable stages), train, summed losses, SGD(momentum 0.9, wd 1e-4)'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--case', required=True)
    ap.add_argument('--batch', type=int, default=1)
    ap.add_argument('--warmup', type=int, default=1)
    ap.add_argument('--repeats', type=int, default=5)
    ap.add_argument('--threads', type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    base = rss_mb()
    step, what = build(args.case, args.batch)
    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        step()
        times.append((time.perf_counter() - t) * 1000)
    print(json.dumps({
        'case': args.case,
        'batch': args.batch,
        'medianMs': statistics.median(times),
        'times': times,
        'threads': torch.get_num_threads(),
        'torch': torch.__version__,
        'torchvision': torchvision.__version__,
        'blas': blas_libraries(),
        'model': what,
        'rssBaseMB': base,
        'rssPeakMB': peak_rss_mb(),
    }))


if __name__ == '__main__':
    main()
