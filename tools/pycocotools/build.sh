#!/usr/bin/env bash
# Builds pycocotools (cocodataset/cocoapi PythonAPI) from source for /usr/bin/python3, for fixture
# scripts only: Debian has no python3-pycocotools and tests never run Python.
#
# Getting the source (nothing from cocoapi is committed here):
#   - with git:   git clone https://github.com/cocodataset/cocoapi /tmp/cocoapi
#   - in the agent sandbox: the search tool's `fetch github:cocodataset/cocoapi` gives a bare git dir, then
#       mkdir -p /tmp/cocoapi && git --git-dir=/work/.mirror/cocodataset+cocoapi/repo archive HEAD PythonAPI common \
#         | tar -x -C /tmp/cocoapi
#     (or pass that bare git dir straight to this script).
#   Built and checked against commit 8c9bcc3 (the last upstream commit; the C code has not changed since 2017).
#
# Usage:  tools/pycocotools/build.sh COCOAPI_DIR [INSTALL_DIR]      (INSTALL_DIR defaults to /tmp/pycocotools-build)
#   COCOAPI_DIR holds PythonAPI/ and common/, or is a bare git dir of cocoapi (its HEAD is exported);
#   it is only read (the build happens in a scratch copy). Re-running replaces INSTALL_DIR/pycocotools.
#   Afterwards:  PYTHONPATH=INSTALL_DIR /usr/bin/python3 -c 'from pycocotools import mask, coco, cocoeval'
#
# Needs: gcc, python3-dev, cython3 (`apt-get install -y cython3 python3-dev`), numpy (1.24 in Debian bookworm).
# Patches applied to the scratch copy, each checked so a changed upstream fails loudly instead of silently:
#   - cocoeval.py: `np.float` (removed in numpy 1.24) → `np.float64`.
#   - coco.py: matplotlib is imported lazily inside showAnns (it is not installed, and only drawing needs it).
set -euo pipefail

PYTHON=${PYTHON:-/usr/bin/python3}
SRC=${1:?usage: build.sh COCOAPI_DIR [INSTALL_DIR]}
DEST=${2:-/tmp/pycocotools-build}
[[ -d "$SRC" ]] || { echo "build.sh: $SRC is not a directory (expected a cocoapi checkout)" >&2; exit 1; }
SRC=$(cd "$SRC" && pwd)

WORK=$(mktemp -d /tmp/pycocotools-src.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# A bare git directory (e.g. the sandbox mirror) is exported first.
if [[ ! -d "$SRC/PythonAPI" && -f "$SRC/HEAD" && -d "$SRC/objects" ]]; then
  mkdir "$WORK/export"
  git --git-dir="$SRC" archive HEAD PythonAPI common | tar -x -C "$WORK/export"
  SRC="$WORK/export"
fi

for f in PythonAPI/setup.py PythonAPI/pycocotools/_mask.pyx PythonAPI/pycocotools/cocoeval.py \
         PythonAPI/pycocotools/coco.py common/maskApi.c common/maskApi.h; do
  [[ -f "$SRC/$f" ]] || { echo "build.sh: $SRC/$f not found (expected a cocoapi checkout)" >&2; exit 1; }
done
command -v gcc >/dev/null || { echo "build.sh: gcc not found" >&2; exit 1; }
"$PYTHON" -c 'import Cython, numpy, setuptools' 2>/dev/null \
  || { echo "build.sh: $PYTHON needs Cython, numpy, setuptools (apt-get install -y cython3 python3-dev)" >&2; exit 1; }
"$PYTHON" -c 'import sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
  || { echo "build.sh: Python.h missing (apt-get install -y python3-dev)" >&2; exit 1; }

cp -r "$SRC/PythonAPI" "$SRC/common" "$WORK/"

"$PYTHON" - "$WORK/PythonAPI/pycocotools" <<'PY'
import re, sys, pathlib
pkg = pathlib.Path(sys.argv[1])

ev = pkg / 'cocoeval.py'
text = ev.read_text()
text, n = re.subn(r'\bnp\.float\b(?!\d)', 'np.float64', text)
if n == 0 and 'np.float64' not in text:
    sys.exit('build.sh: expected np.float in cocoeval.py (source changed?)')
ev.write_text(text)

co = pkg / 'coco.py'
text = co.read_text()
imports = ['import matplotlib.pyplot as plt\n',
           'from matplotlib.collections import PatchCollection\n',
           'from matplotlib.patches import Polygon\n']
if all(line in text for line in imports):
    for line in imports:
        text = text.replace(line, '', 1)
    match = re.search(r'^    def showAnns\(.*\):\n', text, re.M)
    if match is None:
        sys.exit('build.sh: showAnns not found in coco.py; cannot make matplotlib lazy')
    lazy = ''.join('        ' + line for line in imports)
    text = text[:match.end()] + lazy + text[match.end():]
    co.write_text(text)
PY

(cd "$WORK/PythonAPI" && "$PYTHON" setup.py -q build_ext --inplace >"$WORK/build.log" 2>&1) \
  || { cat "$WORK/build.log" >&2; echo "build.sh: compilation failed" >&2; exit 1; }

mkdir -p "$DEST"
rm -rf "$DEST/pycocotools"
mkdir "$DEST/pycocotools"
cp "$WORK"/PythonAPI/pycocotools/*.py "$WORK"/PythonAPI/pycocotools/_mask*.so "$DEST/pycocotools/"

# Smoke test: encode/decode round trip, a polygon, and the evaluation modules import.
PYTHONPATH="$DEST" "$PYTHON" - <<'PY'
import numpy as np
from pycocotools import mask, coco, cocoeval  # noqa: F401  (imports must work without matplotlib)
m = np.asfortranarray(np.eye(5, 7, dtype=np.uint8))
r = mask.encode(m)
assert (mask.decode(r) == m).all() and mask.area(r) == 5, r
assert mask.frPyObjects([[1, 1, 4, 1, 4, 4, 1, 4]], 6, 6)[0]['counts'] == b'733000;'
# a one-image COCOeval (bbox and segm) runs through numpy ≥ 1.24 without np.float errors
import contextlib, io
gt = coco.COCO()
gt.dataset = {'images': [{'id': 1, 'height': 20, 'width': 30}], 'categories': [{'id': 1, 'name': 'a'}],
              'annotations': [{'id': 1, 'image_id': 1, 'category_id': 1, 'bbox': [2, 2, 10, 8], 'area': 80,
                               'iscrowd': 0, 'segmentation': [[2, 2, 12, 2, 12, 10, 2, 10]]}]}
with contextlib.redirect_stdout(io.StringIO()):
    gt.createIndex()
    dt = gt.loadRes([{'image_id': 1, 'category_id': 1, 'bbox': [3, 2, 10, 8], 'score': 0.9,
                      'segmentation': [[3, 2, 13, 2, 13, 10, 3, 10]]}])
    for iou_type in ('bbox', 'segm'):
        ev = cocoeval.COCOeval(gt, dt, iou_type)
        ev.evaluate(); ev.accumulate(); ev.summarize()
        assert abs(ev.stats[0] - 0.7) < 1e-9 and abs(ev.stats[1] - 1) < 1e-9, (iou_type, ev.stats.tolist())
PY
echo "pycocotools built into $DEST (use PYTHONPATH=$DEST)"
