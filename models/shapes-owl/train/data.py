"""Training batches: random shapes-world scenes, stretched to the model's input, with sampled queries
and per-patch targets."""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image

import tokenizer as tok
import world as W
from model import CLIP_MEAN, CLIP_STD, GRID, IMAGE_SIZE

ASPECTS = [16 / 9] * 5 + [4 / 3, 1.0, 3 / 4, 9 / 16, 21 / 9, 2.0, 3 / 2]
FILTERS = [Image.BILINEAR, Image.BICUBIC, Image.LANCZOS, Image.BOX, Image.HAMMING]
UNKNOWN = ["dog", "cat", "car", "person", "helmet", "tree", "ball", "hexagon", "oval", "rectangle", "diamond",
           "heart", "moon", "arrow", "ring", "line", "dot", "pink", "brown", "gray", "cyan", "banana", "xyz"]
N_QUERIES = 12
# Recipe knobs (train.py sets them; the defaults are stages 1 and 2 of train-all.sh)
HARD_SHARE = 0.5  # share of negatives drawn from the hard pool (sharing a colour or shape with the scene)
MINIMAL_SHARE = 0.0  # of those, the share drawn from minimal pairs: one word changed from a present object
CROSS_HALVES = None  # (lo, hi) bar half-widths for crosses; None draws every cross at 1/6
MAX_OBJ = 6
MEAN = np.array(CLIP_MEAN, np.float32) * 255
STD = np.array(CLIP_STD, np.float32) * 255


def to_pixels(im: Image.Image, resample=Image.BICUBIC) -> np.ndarray:
    """Stretch-resize to S x S and normalise with CLIP's mean/std: [3, S, S] float32."""
    a = np.asarray(im.resize((IMAGE_SIZE, IMAGE_SIZE), resample), np.float32)
    return ((a - MEAN) / STD).transpose(2, 0, 1).copy()


def random_scene(rng: np.random.Generator, pairs=W.SEEN_PAIRS):
    aspect = ASPECTS[rng.integers(len(ASPECTS))] if rng.random() < 0.85 else rng.uniform(0.5, 2.4)
    short = int(rng.uniform(150, 330)) if rng.random() < 0.85 else int(rng.uniform(330, 720))
    w, h = (int(short * aspect), short) if aspect >= 1 else (short, int(short / aspect))
    bg = W.background(rng, w, h)
    n = int(rng.integers(1, MAX_OBJ + 1)) if rng.random() > 0.03 else 0
    objs = W.place_objects(rng, bg, n, pairs, color_extra=rng.uniform(0, 15), cross_halves=CROSS_HALVES)
    img = W.composite(bg, objs, aa=rng.random() < 0.8)
    return W.degrade(img, rng), objs, w, h


def sample_queries(rng, objs):
    """Positives from what is present, negatives from what is absent (hard ones first), unknown words."""
    pos: dict = {}
    for o in objs:
        for q in (W.Query(o.color, o.shape), W.Query(None, o.shape), W.Query(o.color, None)):
            if (q.color, q.shape) not in W.HELD_OUT:
                pos[q] = True
    present_c = {o.color for o in objs}
    present_s = {o.shape for o in objs}
    cands = [q for q in W.scoring_queries() if (q.color, q.shape) not in W.HELD_OUT and q not in pos]
    hard = [q for q in cands if q.color in present_c or q.shape in present_s]
    easy = [q for q in cands if q not in hard]
    # minimal pairs: a present object with its colour or its shape swapped ("purple square" on a purple
    # circle), the commonest false positives of an additive text encoder
    present_pairs = {(o.color, o.shape) for o in objs}
    minimal = [q for q in hard if q.color and q.shape and any(
        (q.color == c) != (q.shape == s) for c, s in present_pairs)]
    pos_list = list(pos)
    rng.shuffle(pos_list)
    chosen = pos_list[: int(rng.integers(3, 8))]
    texts = [W.phrase(q, rng) for q in chosen]
    queries = list(chosen)
    while len(queries) < N_QUERIES:
        r = rng.random()
        if r < 0.1:
            q = W.Query(COLORS_OR_NONE(rng), None, unknown=True)
            texts.append(W.phrase(q, rng, UNKNOWN[rng.integers(len(UNKNOWN))]))
            queries.append(q)
            continue
        if minimal and r < 0.1 + HARD_SHARE * MINIMAL_SHARE:
            pool = minimal
        else:
            pool = hard if (hard and r < 0.1 + HARD_SHARE) else (easy or hard)
        q = pool[rng.integers(len(pool))]
        queries.append(q)
        texts.append(W.phrase(q, rng))
    return queries, texts


def COLORS_OR_NONE(rng):
    return W.COLOR_NAMES[rng.integers(len(W.COLOR_NAMES))] if rng.random() < 0.4 else None


def patch_targets(boxes: np.ndarray):
    """Each patch whose centre lies in an object's central region is assigned to the nearest such
    object (distance scaled by object size); two centres in one patch leave each object its own
    neighbouring patches. boxes [N, 4] normalised x1y1x2y2 -> assigned [P] (-1 = background)."""
    g = (np.arange(GRID, dtype=np.float32) + 0.5) / GRID
    py, px = np.meshgrid(g, g, indexing="ij")
    px, py = px.reshape(-1), py.reshape(-1)
    assigned = np.full(GRID * GRID, -1, np.int64)
    best = np.full(GRID * GRID, np.inf, np.float32)
    for i, b in enumerate(boxes):
        cx, cy, bw, bh = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2, b[2] - b[0], b[3] - b[1]
        rx, ry = max(0.8 / GRID, 0.2 * bw), max(0.8 / GRID, 0.2 * bh)
        dx, dy = np.abs(px - cx) / rx, np.abs(py - cy) / ry
        inside = (dx <= 1) & (dy <= 1)
        d = ((px - cx) / bw) ** 2 + ((py - cy) / bh) ** 2
        take = inside & (d < best)
        assigned[take] = i
        best[take] = d[take]
    return assigned


class Scenes(torch.utils.data.IterableDataset):
    """Endless training samples, deterministic per seed and worker. Each rendering serves `reuse`
    times with fresh queries: 2 = as drawn, then mirrored (left-right or top-bottom at random);
    4 = as drawn, mirrored left-right, top-bottom, and both (the world has no preferred orientation).
    Rendering costs more CPU than a training step, so reuse is what makes a 2-core budget go far."""

    def __init__(self, seed: int, reuse: int = 2):
        if reuse not in (1, 2, 4):
            raise ValueError(f"reuse must be 1, 2 or 4, not {reuse}")
        self.seed = seed
        self.reuse = reuse

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        rng = np.random.default_rng([self.seed, info.id if info else 0])
        while True:
            im, objs, w, h = random_scene(rng)
            base = np.array([o.box() for o in objs], np.float32).reshape(-1, 4) / [w, h, w, h]
            if self.reuse == 4:
                for flip_x, flip_y in ((False, False), (True, False), (False, True), (True, True)):
                    yield self._sample(rng, *_flipped(im, base, flip_x, flip_y), objs)
                continue
            yield self._sample(rng, im, base.copy(), objs)
            if self.reuse == 2:
                # as before the reuse option existed: one mirror, its axis drawn from the stream
                horizontal = rng.random() < 0.5
                yield self._sample(rng, *_flipped(im, base, horizontal, not horizontal), objs)

    def _sample(self, rng, im, boxes_n, objs):
        pix = to_pixels(im, FILTERS[rng.integers(len(FILTERS))])
        queries, texts = sample_queries(rng, objs)
        ids = np.zeros((N_QUERIES, tok.MAX_LEN), np.int64)
        mask = np.zeros((N_QUERIES, tok.MAX_LEN), np.int64)
        for i, t in enumerate(texts):
            a, m = tok.pad(tok.encode(t))
            ids[i], mask[i] = a, m
        boxes = np.zeros((MAX_OBJ, 4), np.float32)
        boxes[: len(objs)] = boxes_n
        match = np.zeros((N_QUERIES, MAX_OBJ + 1), np.float32)  # column MAX_OBJ = background
        for qi, q in enumerate(queries):
            for oi, o in enumerate(objs):
                match[qi, oi] = q.matches(o.color, o.shape)
        assigned = patch_targets(boxes_n)
        return (torch.from_numpy(pix), torch.from_numpy(ids), torch.from_numpy(mask), torch.from_numpy(boxes),
                torch.from_numpy(match), torch.from_numpy(assigned))


def _flipped(im: Image.Image, boxes: np.ndarray, flip_x: bool, flip_y: bool):
    """The image mirrored left-right and/or top-bottom, with its normalised x1y1x2y2 boxes."""
    b = boxes.copy()
    if flip_x:
        im = im.transpose(Image.FLIP_LEFT_RIGHT)
        b[:, [0, 2]] = 1 - boxes[:, [2, 0]]
    if flip_y:
        im = im.transpose(Image.FLIP_TOP_BOTTOM)
        b[:, [1, 3]] = 1 - boxes[:, [3, 1]]
    return im, b
