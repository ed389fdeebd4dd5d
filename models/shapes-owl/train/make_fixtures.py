"""Render the fixture clips and stills (seeds never used in training) with their truth files.

    /usr/bin/python3 models/shapes-owl/train/make_fixtures.py --out fixtures [--ffmpeg ffmpeg]

Clips are H.264 MP4 (yuv420p) encoded by ffmpeg from raw RGB frames; truth follows SHAPES_WORLD.md."""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys

import numpy as np
from PIL import Image, ImageFilter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import world as W  # noqa: E402

FPS = 30
HELD = sorted(W.HELD_OUT)
ALL_PAIRS = [(c, s) for c in W.COLOR_NAMES for s in W.SHAPES]

# name, width, height, seconds, number of objects, pairs to include, seed
CLIPS = [
    ("clip01-640x360", 640, 360, 3.0, 3, [], 9001),
    ("clip02-640x360-heldout", 640, 360, 3.0, 5, [HELD[0], HELD[1]], 9002),
    ("clip03-640x360-crowded", 640, 360, 3.0, 6, [HELD[2]], 9003),
    ("clip04-1280x720-heldout", 1280, 720, 2.5, 4, [HELD[3], HELD[0]], 9004),
    ("clip05-1280x720", 1280, 720, 2.5, 2, [], 9005),
    ("clip06-1280x720-crowded", 1280, 720, 2.5, 6, [HELD[1], HELD[2], HELD[3]], 9006),
]
STILLS = [
    ("still01-640x360.jpg", 640, 360, 4, [], 9101),
    ("still02-1280x720.webp", 1280, 720, 5, [HELD[0]], 9102),
    ("still03-800x800.jpg", 800, 800, 6, [HELD[1], HELD[2]], 9103),
    ("still04-360x640.jpg", 360, 640, 3, [HELD[3]], 9104),
]


def pick_objects(rng, bg, n, must):
    """Objects for a scene: the `must` pairs first, then random pairs from all 40."""
    for _ in range(200):
        objs = []
        for pair in must:
            objs += W.place_objects(rng, bg, 1, [pair], max_tries=80)
        if len(objs) < len(must):
            continue
        rest = W.place_objects(rng, bg, n - len(objs), ALL_PAIRS, max_tries=200)
        # place_objects checks overlaps within its own list: re-check the union
        objs = objs + rest
        if len(objs) == n and W.overlap_ok(objs, bg.shape[1], bg.shape[0]):
            return objs
    raise RuntimeError("could not place objects")


def valid_frame(bg, objs, w, h) -> bool:
    for o in objs:
        b = o.box()
        if b[0] < 0 or b[1] < 0 or b[2] > w or b[3] > h or not W.contrast_ok(bg, o):
            return False
    return W.overlap_ok(objs, w, h)


def simulate(rng, bg, objs, w, h, n_frames):
    """Straight lines, bouncing off the frame's edges (and off each other when they would overlap
    beyond the world's limit), slow rotation. Returns per-frame object states."""
    short = min(w, h)
    for o in objs:
        speed = rng.uniform(0.15, 0.45) * short  # px per second
        a = rng.uniform(0, 2 * math.pi)
        o.vx, o.vy = speed * math.cos(a), speed * math.sin(a)
        o.va = rng.uniform(0.2, 0.9) * rng.choice([-1, 1])  # rad per second
    frames = []
    for _ in range(n_frames):
        frames.append([(o.cx, o.cy, o.angle) for o in objs])
        for i, o in enumerate(objs):
            old = (o.cx, o.cy, o.angle)
            o.cx += o.vx / FPS
            o.cy += o.vy / FPS
            o.angle += o.va / FPS
            o.layout()
            b = o.box()
            if b[0] < 0 or b[2] > w:
                o.vx = -o.vx
            if b[1] < 0 or b[3] > h:
                o.vy = -o.vy
            if b[0] < 0 or b[2] > w or b[1] < 0 or b[3] > h or not W.overlap_ok(objs, w, h):
                if not (b[0] < 0 or b[2] > w or b[1] < 0 or b[3] > h):
                    o.vx, o.vy = -o.vx, -o.vy
                o.cx, o.cy, o.angle = old
                o.layout()
    return frames


def render_clip(name, w, h, seconds, n, must, seed, out, ffmpeg):
    n_frames = int(round(seconds * FPS))
    for attempt in range(50):
        rng = np.random.default_rng([seed, attempt])
        bg = W.background(rng, w, h)
        try:
            objs = pick_objects(rng, bg, n, must)
        except RuntimeError:
            continue
        states = simulate(rng, bg, objs, w, h, n_frames)
        ok = True
        for st in states:
            for o, (cx, cy, a) in zip(objs, st):
                o.cx, o.cy, o.angle = cx, cy, a
                o.layout()
            if not valid_frame(bg, objs, w, h):
                ok = False
                break
        if ok:
            break
    else:
        raise RuntimeError(f"{name}: no valid clip")
    blur = rng.uniform(0.3, 0.8)
    truth = {"width": w, "height": h, "fps": FPS, "frames": []}
    path = os.path.join(out, f"{name}.mp4")
    enc = subprocess.Popen([ffmpeg, "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
                            "-r", str(FPS), "-i", "-", "-c:v", "libx264", "-preset", "slow", "-crf", "30",
                            "-pix_fmt", "yuv420p", "-movflags", "+faststart", path], stdin=subprocess.PIPE)
    for i, st in enumerate(states):
        for o, (cx, cy, a) in zip(objs, st):
            o.cx, o.cy, o.angle = cx, cy, a
            o.layout()
        img = W.composite(bg, objs, aa=True)
        im = Image.fromarray(img.astype(np.uint8)).filter(ImageFilter.GaussianBlur(blur))
        enc.stdin.write(im.tobytes())
        truth["frames"].append({"index": i, "objects": W.truth_objects(objs)})
    enc.stdin.close()
    if enc.wait() != 0:
        raise RuntimeError("ffmpeg failed")
    with open(os.path.join(out, f"{name}.truth.json"), "w") as f:
        json.dump(truth, f)
    return path


def render_still(name, w, h, n, must, seed, out):
    rng = np.random.default_rng(seed)
    bg = W.background(rng, w, h)
    objs = pick_objects(rng, bg, n, must)
    im = W.degrade(W.composite(bg, objs), rng, strength=0.5)
    im.save(os.path.join(out, name), quality=90)
    truth = {"width": w, "height": h, "fps": 0, "frames": [{"index": 0, "objects": W.truth_objects(objs)}]}
    with open(os.path.join(out, name.rsplit(".", 1)[0] + ".truth.json"), "w") as f:
        json.dump(truth, f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="fixtures")
    ap.add_argument("--ffmpeg", default="ffmpeg")
    args = ap.parse_args()
    os.makedirs(os.path.join(args.out, "clips"), exist_ok=True)
    os.makedirs(os.path.join(args.out, "stills"), exist_ok=True)
    for c in CLIPS:
        p = render_clip(*c, os.path.join(args.out, "clips"), args.ffmpeg)
        print(p, os.path.getsize(p), flush=True)
    for s in STILLS:
        render_still(*s, os.path.join(args.out, "stills"))
        print(s[0], flush=True)


if __name__ == "__main__":
    main()
