#!/usr/bin/env bash
# Reproduces the shipped weights: stage 1 from scratch, stage 2 continues from it with fresh scenes
# (another seed) and a lower learning rate. Then export, calibrate, and score (see README.md).
set -euo pipefail
cd "$(dirname "$0")/../../.."
W=models/shapes-owl/work
mkdir -p $W
/usr/bin/python3 models/shapes-owl/train/train.py --steps 4500 --seed 20261126 --out $W/stage1.pt > $W/train-stage1.log 2>&1
/usr/bin/python3 models/shapes-owl/train/train.py --init $W/stage1.pt --steps 2000 --lr 1e-3 --warmup 100 --seed 20261127 \
  --out $W/model.pt > $W/train-stage2.log 2>&1
