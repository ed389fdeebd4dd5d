#!/usr/bin/env bash
# CI smoke test of the bundled model's recipe (npm run test:model): a few training steps, the
# export, onnxruntime against PyTorch (max abs diff <= 1e-4), the JS tokenizer against Python's,
# the weights rebuilt from an export, and evaluate.py end to end on one fixture clip. Needs Debian's python3-torch, python3-onnx,
# python3-pil, python3-numpy and ffmpeg (see models/shapes-owl/README.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-/usr/bin/python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
$PY models/shapes-owl/train/train.py --steps 12 --batch 8 --hard-share 0.7 --minimal-share 0.5 --cross-halves 0.16 0.34 --queries 16 --out "$work/model.pt"
$PY models/shapes-owl/train/export.py --weights "$work/model.pt" --out "$work/export" --reference "$work/export/ref" 2> >(grep -v Warning >&2)
node models/shapes-owl/check-export.mjs "$work/export"
# weights rebuilt from the ONNX export (from_onnx.py) must compute what the export computes
cp -r "$work/export" "$work/rebuilt" && rm -rf "$work/rebuilt/ref"
$PY models/shapes-owl/train/from_onnx.py --onnx "$work/export/onnx/model.onnx" --out "$work/rebuilt.pt" --reference "$work/rebuilt/ref"
node models/shapes-owl/check-export.mjs "$work/rebuilt"
# and the shipped model, which is what the recipe's stage 7 starts from (small errors show on trained weights)
mkdir -p "$work/shipped" && cp -r models/shapes-owl/onnx models/shapes-owl/*.json "$work/shipped/"
$PY models/shapes-owl/train/from_onnx.py --onnx models/shapes-owl/onnx/model.onnx --out "$work/shipped.pt" --reference "$work/shipped/ref"
node models/shapes-owl/check-export.mjs "$work/shipped"
$PY models/shapes-owl/train/evaluate.py --weights "$work/model.pt" --json fixtures/clips/clip01-640x360.mp4 > "$work/eval.json"
$PY -c "import json,sys; r=json.load(open(sys.argv[1])); assert 0 <= r['overall']['mAP50'] <= 1; print('ok   evaluate.py:', {k: r['overall'][k] for k in ('mAP50', 'absentFalsePositiveRate')})" "$work/eval.json"
echo "model smoke test: 1 passed, 0 failed"
