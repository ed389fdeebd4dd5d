"""Score a ShapesOwl checkpoint with SHAPES_WORLD.md's scoring, on fixture clips or on freshly
rendered validation scenes (which is also how the default threshold is calibrated).

    /usr/bin/python3 models/shapes-owl/train/evaluate.py --weights W.pt fixtures/clips/*.mp4 [--json]
    /usr/bin/python3 models/shapes-owl/train/evaluate.py --weights W.pt --calibrate 400
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import tokenizer as tok  # noqa: E402
import world as W  # noqa: E402
from model import ShapesOwl  # noqa: E402

QUERIES = W.scoring_queries()
TEXTS = [q.canonical() for q in QUERIES]


def iou(a, b):
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def nms(dets, thr):
    dets = sorted(dets, key=lambda d: -d[0])
    kept = []
    for d in dets:
        if all(iou(d[1], k[1]) <= thr for k in kept):
            kept.append(d)
    return kept


def average_precision(scored, n_gt):
    """All-point interpolated AP from (score, is_true_positive) pairs and the number of truths."""
    if n_gt == 0:
        return None
    if not scored:
        return 0.0
    scored = sorted(scored, key=lambda s: -s[0])
    tp = np.cumsum([s[1] for s in scored])
    fp = np.cumsum([1 - s[1] for s in scored])
    rec = tp / n_gt
    prec = tp / np.maximum(tp + fp, 1e-9)
    mrec = np.concatenate([[0.0], rec, [1.0]])
    mpre = np.concatenate([[0.0], prec, [0.0]])
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = max(mpre[i], mpre[i + 1])
    idx = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[idx + 1] - mrec[idx]) * mpre[idx + 1]))


class Scorer:
    """Accumulates SHAPES_WORLD.md's scores over frames: per-query AP at IoU 0.5, absent-query
    false positives and recall at the operating threshold."""

    def __init__(self, threshold):
        self.threshold = threshold
        self.scored = {t: [] for t in TEXTS}
        self.n_gt = {t: 0 for t in TEXTS}
        self.absent_pairs = 0
        self.absent_fp = 0
        self.gt_total = 0
        self.gt_found = 0
        self.duplicates = 0

    def add_frame(self, objects, dets_per_query):
        for q, t in zip(QUERIES, TEXTS):
            gts = [o["box"] for o in objects if q.matches(o["color"], o["shape"])]
            self.n_gt[t] += len(gts)
            dets = sorted(dets_per_query[t], key=lambda d: -d[0])
            used = [False] * len(gts)
            found_above = 0  # truths matched, one box each, by boxes at or above the threshold
            for score, box in dets:
                best, bi = 0.5, -1
                for i, g in enumerate(gts):
                    v = iou(box, g)
                    if not used[i] and v >= best:
                        best, bi = v, i
                if bi >= 0:
                    used[bi] = True
                    found_above += score >= self.threshold  # best first: above-threshold boxes match first
                    self.scored[t].append((score, 1))
                else:
                    self.scored[t].append((score, 0))
                    if score >= self.threshold and any(iou(box, g) >= 0.5 for g in gts):
                        self.duplicates += 1
            if not gts:
                self.absent_pairs += 1
                self.absent_fp += any(d[0] >= self.threshold for d in dets)
            else:
                # recall with the AP's one-to-one matching: one box cannot find two overlapping objects
                self.gt_total += len(gts)
                self.gt_found += found_above

    def result(self):
        ap = {t: average_precision(self.scored[t], self.n_gt[t]) for t in TEXTS}
        valid = [v for v in ap.values() if v is not None]
        held = [ap[f"{c} {s}"] for c, s in W.HELD_OUT if ap[f"{c} {s}"] is not None]
        seen = [ap[t] for q, t in zip(QUERIES, TEXTS)
                if ap[t] is not None and (q.color, q.shape) not in W.HELD_OUT]
        return {
            "mAP50": float(np.mean(valid)) if valid else None,
            "seenMAP50": float(np.mean(seen)) if seen else None,
            "heldOutMAP50": float(np.mean(held)) if held else None,
            "absentFalsePositiveRate": self.absent_fp / max(1, self.absent_pairs),
            "recallAtThreshold": self.gt_found / max(1, self.gt_total),
            "duplicatesAtThreshold": self.duplicates,
            "perQuery": ap,
        }


class Runner:
    def __init__(self, weights, nms_iou):
        self.model = ShapesOwl(len(tok.VOCAB))
        self.model.load_state_dict(torch.load(weights, map_location="cpu"))
        self.model.eval()
        ids, mask = zip(*[tok.pad(tok.encode(t)) for t in TEXTS])
        with torch.no_grad():
            self.text = self.model.text(torch.tensor(ids), torch.tensor(mask))
        self.nms_iou = nms_iou

    def detect(self, images, floor=0.02):
        """images: list of PIL images -> per image {query text: [(score, box xyxy source px)]}."""
        pix = torch.from_numpy(np.stack([data.to_pixels(im) for im in images]))
        with torch.no_grad():
            logits, boxes = self.model.detect(pix, self.text)
        probs = torch.sigmoid(logits).numpy()
        boxes = boxes.numpy()
        out = []
        for k, im in enumerate(images):
            w, h = im.size
            b = boxes[k]
            xyxy = np.stack([(b[:, 0] - b[:, 2] / 2) * w, (b[:, 1] - b[:, 3] / 2) * h,
                             (b[:, 0] + b[:, 2] / 2) * w, (b[:, 1] + b[:, 3] / 2) * h], 1)
            xyxy = np.clip(xyxy, 0, [w, h, w, h])
            res = {}
            for qi, t in enumerate(TEXTS):
                sel = np.nonzero(probs[k, :, qi] >= floor)[0]
                dets = [(float(probs[k, p, qi]), xyxy[p].tolist()) for p in sel]
                res[t] = nms(dets, self.nms_iou) if self.nms_iou else dets
            out.append(res)
        return out


def read_clip(path, ffmpeg="ffmpeg"):
    truth = json.load(open(path.rsplit(".", 1)[0] + ".truth.json"))
    w, h = truth["width"], truth["height"]
    raw = subprocess.run([ffmpeg, "-loglevel", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True).stdout
    n = len(raw) // (w * h * 3)
    frames = [Image.frombuffer("RGB", (w, h), raw[i * w * h * 3:(i + 1) * w * h * 3]) for i in range(n)]
    return frames, truth


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("clips", nargs="*")
    ap.add_argument("--weights", required=True)
    ap.add_argument("--threshold", type=float, default=None,
                    help="operating threshold for false positives and recall (default: the model folder's config.json, else 0.4)")
    ap.add_argument("--nms-iou", type=float, default=0.5)
    ap.add_argument("--calibrate", type=int, default=0, help="render this many validation scenes and sweep thresholds")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.threshold is None:
        cfg = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "config.json")
        try:
            with open(cfg) as f:
                args.threshold = float(json.load(f)["groundstream"]["threshold"])
        except (OSError, KeyError, ValueError, TypeError):
            args.threshold = 0.4
    torch.set_num_threads(2)
    runner = Runner(args.weights, args.nms_iou)
    if args.calibrate:
        rng = np.random.default_rng(424242)
        scenes = []
        for _ in range(args.calibrate):
            bg_im, objs, w, h = data.random_scene(rng, pairs=[(c, s) for c in W.COLOR_NAMES for s in W.SHAPES])
            scenes.append((bg_im, W.truth_objects(objs)))
        dets = []
        for i in range(0, len(scenes), 32):
            dets += runner.detect([s[0] for s in scenes[i:i + 32]])
        rows = []
        for thr in [0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6]:
            sc = Scorer(thr)
            for (im, objs), d in zip(scenes, dets):
                sc.add_frame(objs, d)
            r = sc.result()
            rows.append({"threshold": thr, **{k: v for k, v in r.items() if k != "perQuery"}})
        print(json.dumps(rows, indent=1))
        return
    results = {}
    total = Scorer(args.threshold)
    t_model = 0.0
    n_frames = 0
    for path in args.clips:
        frames, truth = read_clip(path)
        by_index = {f.get("index", k): f for k, f in enumerate(truth["frames"])}
        sc = Scorer(args.threshold)
        for i in range(0, len(frames), 16):
            t0 = time.time()
            dets = runner.detect(frames[i:i + 16])
            t_model += time.time() - t0
            for j, d in enumerate(dets):
                # by the truth's own frame index (decoded frames from 0); frames without truth are not scored
                entry = by_index.get(i + j)
                if entry is None:
                    continue
                objs = entry["objects"]
                sc.add_frame(objs, d)
                total.add_frame(objs, d)
        n_frames += len(frames)
        r = sc.result()
        results[os.path.basename(path)] = {k: v for k, v in r.items() if k != "perQuery"}
    overall = total.result()
    out = {"clips": results, "overall": overall, "framesPerSecond": n_frames / max(t_model, 1e-9)}
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        for k, v in results.items():
            print(f"{k:36s} mAP50 {v['mAP50']:.3f}  held-out {v['heldOutMAP50'] if v['heldOutMAP50'] is None else round(v['heldOutMAP50'], 3)}  "
                  f"absent-FP {v['absentFalsePositiveRate']:.4f}  recall {v['recallAtThreshold']:.3f}  dup {v['duplicatesAtThreshold']}")
        o = overall
        print(f"{'overall':36s} mAP50 {o['mAP50']:.3f}  seen {o['seenMAP50']:.3f}  held-out {o['heldOutMAP50']}  "
              f"absent-FP {o['absentFalsePositiveRate']:.4f}  recall {o['recallAtThreshold']:.3f}  dup {o['duplicatesAtThreshold']}")
        low = sorted(((v, k) for k, v in o["perQuery"].items() if v is not None))[:8]
        print("lowest AP:", ", ".join(f"{k} {v:.3f}" for v, k in low))


if __name__ == "__main__":
    main()
