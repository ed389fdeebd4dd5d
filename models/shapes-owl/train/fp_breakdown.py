"""Where a model's absent-query false positives and its misses come from, on clips with truth:

    /usr/bin/python3 models/shapes-owl/train/fp_breakdown.py --weights models/shapes-owl/work/model.pt fixtures/clips/*.mp4

A false positive is a (frame, query) pair whose query matches nothing in the frame but has a box at
or above the threshold (SHAPES_WORLD.md's absent-query count). Each is put in one bin by what the
frame does hold: for colour-shape pairs, whether the colour and/or the shape are there on other
objects (both = a binding failure); colour-only and shape-only queries have bins of their own.

It also says what limits recall: each (object, matching query) pair with no box at IoU >= 0.5 at or
above the threshold is a miss, put down to confidence (a box at IoU >= 0.5 scores below the
threshold) or to localisation (no such box above the 0.02 floor), and counted by query kind and by
object."""
from __future__ import annotations

import argparse
import collections
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evaluate as E  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("clips", nargs="+")
    ap.add_argument("--weights", required=True)
    ap.add_argument("--threshold", type=float, default=0.4)
    ap.add_argument("--nms-iou", type=float, default=0.5)
    args = ap.parse_args()
    runner = E.Runner(args.weights, args.nms_iou)
    absent, fp, bins, frames_by_query = collections.Counter(), collections.Counter(), collections.Counter(), collections.defaultdict(collections.Counter)
    wanted, missed, miss_cause, miss_band, miss_object = (collections.Counter() for _ in range(5))
    for path in args.clips:
        frames, truth = E.read_clip(path)
        for i in range(0, len(frames), 16):
            for j, dets in enumerate(runner.detect(frames[i:i + 16])):
                objs = truth["frames"][i + j]["objects"]
                for q, t in zip(E.QUERIES, E.TEXTS):
                    matching = [o for o in objs if q.matches(o["color"], o["shape"])]
                    if matching:
                        kind = "pair" if q.color and q.shape else "colour only" if q.color else "shape only"
                        for o in matching:
                            wanted[kind] += 1
                            best = max((score for score, box in dets[t] if E.iou(box, o["box"]) >= 0.5), default=0.0)
                            if best >= args.threshold:
                                continue
                            missed[kind] += 1
                            miss_object[f'{o["color"]} {o["shape"]}'] += 1
                            if best > 0:
                                miss_cause["confidence: a box at IoU >= 0.5 scores below the threshold"] += 1
                                lo = int(best * 10) / 10
                                miss_band[f"{lo:.1f}-{lo + 0.1:.1f}"] += 1
                            else:
                                miss_cause["localisation: no box at IoU >= 0.5"] += 1
                        continue
                    absent[t] += 1
                    if not any(score >= args.threshold for score, _ in dets[t]):
                        continue
                    fp[t] += 1
                    frames_by_query[t][os.path.basename(path)] += 1
                    if q.color and q.shape:
                        has_c = any(o["color"] == q.color for o in objs)
                        has_s = any(o["shape"] == q.shape for o in objs)
                        bins["pair, colour and shape both present" if has_c and has_s else "pair, colour present" if has_c
                             else "pair, shape present" if has_s else "pair, neither present"] += 1
                    else:
                        bins["colour only" if q.color else "shape only"] += 1
    total = sum(fp.values())
    print(f"absent (frame, query) pairs {sum(absent.values())}, false positives {total} "
          f"({100 * total / max(1, sum(absent.values())):.1f}%) at threshold {args.threshold}")
    for k, v in bins.most_common():
        print(f"  {k:40s} {v:5d}  {100 * v / max(1, total):4.1f}%")
    print("queries with the most:")
    for t, v in fp.most_common(8):
        print(f"  {t:16s} {v:4d} of {absent[t]:4d} absent   " + ", ".join(f"{c} {n}" for c, n in frames_by_query[t].most_common(3)))
    print(f"(object, matching query) pairs {sum(wanted.values())}, missed {sum(missed.values())} at threshold {args.threshold}"
          " (each object judged alone, so two objects found by one box both count as found)")
    for k in wanted:
        print(f"  {k:12s} missed {missed[k]:5d} of {wanted[k]:5d}")
    for k, v in miss_cause.most_common():
        print(f"  {k:60s} {v:5d}")
    print("  best score of the missed: " + ", ".join(f"{b} {n}" for b, n in sorted(miss_band.items())))
    print("  objects missed most: " + ", ".join(f"{k} {v}" for k, v in miss_object.most_common(6)))


if __name__ == "__main__":
    main()
