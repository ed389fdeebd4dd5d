#!/usr/bin/env bash
# Reproduces the shipped weights: stage 1 from scratch, stage 2 continues from it with fresh scenes
# (another seed) and a lower learning rate, stages 3 to 6 continue with more hard negatives (half of
# them one word away from something present) and crosses of both thicknesses the world's text allows.
# Then export, calibrate, and score (see README.md).
set -euo pipefail
cd "$(dirname "$0")/../../.."
W=models/shapes-owl/work
mkdir -p $W
/usr/bin/python3 models/shapes-owl/train/train.py --steps 4500 --seed 20261126 --out $W/stage1.pt > $W/train-stage1.log 2>&1
/usr/bin/python3 models/shapes-owl/train/train.py --init $W/stage1.pt --steps 2000 --lr 1e-3 --warmup 100 --seed 20261127 \
  --out $W/stage2.pt > $W/train-stage2.log 2>&1
/usr/bin/python3 models/shapes-owl/train/train.py --init $W/stage2.pt --steps 2500 --lr 1e-3 --warmup 100 --seed 20261128 \
  --hard-share 0.7 --minimal-share 0.5 --cross-halves 0.16 0.34 --out $W/stage3.pt > $W/train-stage3.log 2>&1
/usr/bin/python3 models/shapes-owl/train/train.py --init $W/stage3.pt --steps 1500 --lr 5e-4 --warmup 100 --seed 20261129 \
  --hard-share 0.7 --minimal-share 0.5 --cross-halves 0.16 0.34 --out $W/stage4.pt > $W/train-stage4.log 2>&1
/usr/bin/python3 models/shapes-owl/train/train.py --init $W/stage4.pt --steps 1500 --lr 3e-4 --warmup 100 --seed 20261130 \
  --hard-share 0.7 --minimal-share 0.5 --cross-halves 0.16 0.34 --out $W/stage5.pt > $W/train-stage5.log 2>&1
# Stage 6 renders with 15 processes: the data stream of the run first made on a GPU machine
# (--device cuda, 3.4 min there), so that this CPU run learns from the same images.
/usr/bin/python3 models/shapes-owl/train/train.py --init $W/stage5.pt --steps 4000 --lr 3e-4 --warmup 100 --seed 20261131 \
  --hard-share 0.7 --minimal-share 0.5 --cross-halves 0.16 0.34 --workers 15 --out $W/stage6.pt > $W/train-stage6.log 2>&1
cp $W/stage6.pt $W/model.pt
