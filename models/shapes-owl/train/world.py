"""The shapes world (SHAPES_WORLD.md v1): vocabulary, scene renderer, video clips and queries.

Everything here is numpy + PIL. A scene is rendered at its source size; the model's preprocessing
(stretch to S x S) is applied elsewhere, so the same renderer makes training scenes and fixtures.
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

COLORS = {
    "red": (225, 30, 35),
    "orange": (245, 135, 20),
    "yellow": (240, 220, 30),
    "green": (40, 165, 60),
    "blue": (35, 75, 220),
    "purple": (135, 45, 185),
    "white": (245, 245, 245),
    "black": (15, 15, 15),
}
COLOR_NAMES = list(COLORS)
SHAPES = ["circle", "square", "triangle", "star", "cross"]
HELD_OUT = {("purple", "star"), ("orange", "cross"), ("white", "triangle"), ("yellow", "square")}
SEEN_PAIRS = [(c, s) for c in COLOR_NAMES for s in SHAPES if (c, s) not in HELD_OUT]
JITTER = 15
MIN_CONTRAST = 120
MAX_COVER = 0.40
PLURAL = {"circle": "circles", "square": "squares", "triangle": "triangles", "star": "stars",
          "cross": "crosses", "shape": "shapes", "object": "objects", "thing": "things"}


@dataclass(frozen=True)
class Query:
    """A parsed query: colour and/or shape; None means 'any'. `unknown` names nothing in the world."""
    color: str | None
    shape: str | None
    unknown: bool = False

    def matches(self, color: str, shape: str) -> bool:
        if self.unknown:
            return False
        return (self.color is None or self.color == color) and (self.shape is None or self.shape == shape)

    def canonical(self) -> str:
        if self.unknown:
            return "unknown"
        if self.shape is None:
            return f"{self.color} object"
        return f"{self.color} {self.shape}" if self.color else self.shape


def scoring_queries() -> list[Query]:
    """SHAPES_WORLD.md's query set: 40 colour-shape pairs, 5 shapes, 8 colours."""
    qs = [Query(c, s) for c in COLOR_NAMES for s in SHAPES]
    qs += [Query(None, s) for s in SHAPES]
    qs += [Query(c, None) for c in COLOR_NAMES]
    return qs


def phrase(q: Query, rng: np.random.Generator, unknown_word: str = "dog") -> str:
    """A random surface form of a query that the grammar allows (article, plural, case, spaces, punctuation)."""
    plural = rng.random() < 0.25
    words: list[str] = []
    r = rng.random()
    if r < 0.3:
        words.append(["a", "an", "the"][rng.integers(3)] if not plural else "the")
    if q.color:
        words.append(q.color)
    if q.unknown:
        noun = unknown_word
    elif q.shape:
        noun = q.shape
    else:
        noun = ["object", "thing", "shape"][rng.integers(3)]
    if plural and noun in PLURAL:
        noun = PLURAL[noun]
    words.append(noun)
    text = (" " * int(rng.integers(1, 3))).join(words) if rng.random() < 0.1 else " ".join(words)
    if rng.random() < 0.15:
        text = text.upper() if rng.random() < 0.3 else text.capitalize()
    if rng.random() < 0.1:
        text += [".", "!", "?", ","][rng.integers(4)]
    if rng.random() < 0.05:
        text = " " + text + " "
    return text


# ---------------------------------------------------------------- shapes ---------------------------

def shape_polygon(shape: str, cx: float, cy: float, size: float, angle: float, inner: float = 0.45,
                  cross_half: float = 1 / 6):
    """Vertices of the shape, scaled so that the larger side of its axis-aligned box is `size` pixels.

    Circles return None (drawn as ellipses). `cross_half` is a cross's bar half-width over its half-length:
    1/6 reads "arms one third as wide as long" as bars a third as wide as the cross; training also draws
    thicker ones (up to 1/3), since the sentence can be read that way too."""
    if shape == "circle":
        return None
    if shape == "square":
        pts = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=np.float64)
    elif shape == "triangle":
        a = np.deg2rad([90, 210, 330])
        pts = np.stack([np.cos(a), -np.sin(a)], 1)
    elif shape == "star":
        a = np.deg2rad(90 + 36 * np.arange(10))
        r = np.where(np.arange(10) % 2 == 0, 1.0, inner)
        pts = np.stack([r * np.cos(a), -r * np.sin(a)], 1)
    elif shape == "cross":
        t = cross_half
        pts = np.array([[-t, -1], [t, -1], [t, -t], [1, -t], [1, t], [t, t], [t, 1], [-t, 1],
                        [-t, t], [-1, t], [-1, -t], [-t, -t]], dtype=np.float64)
    else:
        raise ValueError(shape)
    c, s = math.cos(angle), math.sin(angle)
    pts = pts @ np.array([[c, s], [-s, c]])
    ext = (pts.max(0) - pts.min(0)).max()
    pts = pts * (size / ext)
    mid = (pts.max(0) + pts.min(0)) / 2
    return pts - mid + np.array([cx, cy])


def shape_box(shape: str, poly, cx: float, cy: float, size: float):
    if poly is None:
        r = size / 2
        return [cx - r, cy - r, cx + r, cy + r]
    return [float(poly[:, 0].min()), float(poly[:, 1].min()), float(poly[:, 0].max()), float(poly[:, 1].max())]


def shape_mask(shape: str, poly, cx: float, cy: float, size: float, w: int, h: int, ss: int = 4):
    """Coverage in [0, 1] of every pixel of a w x h frame (anti-aliased by ss x ss supersampling),
    computed only inside the shape's box; returns (x0, y0, alpha) with alpha cropped to the box."""
    box = shape_box(shape, poly, cx, cy, size)
    x0, y0 = max(0, int(math.floor(box[0])) - 1), max(0, int(math.floor(box[1])) - 1)
    x1, y1 = min(w, int(math.ceil(box[2])) + 2), min(h, int(math.ceil(box[3])) + 2)
    if x1 <= x0 or y1 <= y0:
        return x0, y0, np.zeros((0, 0), np.float32)
    cw, ch = x1 - x0, y1 - y0
    im = Image.new("L", (cw * ss, ch * ss), 0)
    d = ImageDraw.Draw(im)
    if poly is None:
        r = size / 2
        d.ellipse([(cx - r - x0) * ss, (cy - r - y0) * ss, (cx + r - x0) * ss, (cy + r - y0) * ss], fill=255)
    else:
        d.polygon([((x - x0) * ss, (y - y0) * ss) for x, y in poly], fill=255)
    im = im.resize((cw, ch), Image.BOX)
    return x0, y0, np.asarray(im, dtype=np.float32) / 255.0


# ---------------------------------------------------------------- backgrounds ----------------------

def _rand_color(rng, saturated=False) -> np.ndarray:
    if saturated:
        c = np.zeros(3, np.float32)
        c[rng.integers(3)] = 255
        c[rng.integers(3)] = rng.uniform(0, 255)
        return c
    return rng.uniform(0, 255, 3).astype(np.float32)


def _value_noise(rng, w, h, cells):
    g = rng.random((cells + 2, int(cells * w / h) + 2)).astype(np.float32)
    im = Image.fromarray((g * 255).astype(np.uint8)).resize((w, h), Image.BICUBIC)
    return np.asarray(im, np.float32) / 255.0


def _pattern(kind: str, rng, w: int, h: int) -> np.ndarray:
    """A scalar field in [0, 1] of shape (h, w) for one background family."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)  # noqa: the fields below are all float32
    ang = rng.uniform(0, np.pi)
    u = xx * math.cos(ang) + yy * math.sin(ang)
    v = -xx * math.sin(ang) + yy * math.cos(ang)
    if kind == "gradient":
        return (u - u.min()) / max(1e-6, float(u.max() - u.min()))
    if kind == "radial":
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        r = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)
        return r / max(1e-6, float(r.max()))
    if kind == "stripes":
        period = rng.uniform(4, max(6, min(w, h) / 3))
        sharp = rng.random() < 0.6
        f = (u / period) % 1.0
        return (f < rng.uniform(0.3, 0.7)).astype(np.float32) if sharp else 0.5 + 0.5 * np.sin(2 * np.pi * u / period)
    if kind == "checker":
        p = rng.uniform(4, max(6, min(w, h) / 4))
        return (((np.floor(u / p) + np.floor(v / p)) % 2)).astype(np.float32)
    if kind == "noise":
        return rng.random((h, w)).astype(np.float32)
    if kind == "value_noise":
        return _value_noise(rng, w, h, int(rng.integers(2, 24)))
    if kind == "fractal":
        f = sum(_value_noise(rng, w, h, 2 ** o) / (1.6 ** o) for o in range(1, 6))
        return (f - f.min()) / max(1e-6, float(f.max() - f.min()))
    if kind == "waves":
        k1, k2 = rng.uniform(0.01, 0.15, 2)
        return 0.5 + 0.5 * np.sin(k1 * u + rng.uniform(1, 6) * np.sin(k2 * v))
    if kind == "rings":
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        r = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)
        return 0.5 + 0.5 * np.sin(r / rng.uniform(2, 20))
    if kind == "blobs":
        f = np.zeros((h, w), np.float32)
        for _ in range(int(rng.integers(2, 10))):
            cx, cy = rng.uniform(0, w), rng.uniform(0, h)
            s = rng.uniform(0.05, 0.4) * min(w, h)
            f += rng.uniform(-1, 1) * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * s * s))
        return (f - f.min()) / max(1e-6, float(f.max() - f.min()))
    if kind == "plaid":
        p1, p2 = rng.uniform(6, 40, 2)
        return 0.5 + 0.25 * np.sin(2 * np.pi * u / p1) + 0.25 * np.sin(2 * np.pi * v / p2)
    if kind == "cells":
        n = int(rng.integers(4, 30))
        pts = rng.uniform(0, 1, (n, 2)) * [w, h]
        vals = rng.random(n).astype(np.float32)
        sub = 4
        ys, xs = np.mgrid[0:h:sub, 0:w:sub]
        d = (xs[..., None] - pts[:, 0]) ** 2 + (ys[..., None] - pts[:, 1]) ** 2
        small = vals[d.argmin(-1)]
        im = Image.fromarray((small * 255).astype(np.uint8)).resize((w, h), Image.NEAREST)
        return np.asarray(im, np.float32) / 255.0
    raise ValueError(kind)


BG_KINDS = ["solid", "gradient", "radial", "stripes", "checker", "noise", "value_noise", "fractal",
            "waves", "rings", "blobs", "plaid", "cells"]


def background(rng: np.random.Generator, w: int, h: int, depth: int = 0) -> np.ndarray:
    """A float32 (h, w, 3) background in [0, 255] from a broad random family, sometimes mixed."""
    kind = BG_KINDS[rng.integers(len(BG_KINDS))]
    sat = rng.random() < 0.35
    if kind == "solid":
        img = np.broadcast_to(_rand_color(rng, sat), (h, w, 3)).astype(np.float32).copy()
    else:
        f = _pattern(kind, rng, w, h)[..., None]
        if rng.random() < 0.25:  # several colours along the field
            stops = np.stack([_rand_color(rng, sat) for _ in range(3)])
            t = f * 2
            lo, hi = np.minimum(t, 1), np.maximum(t - 1, 0)
            img = stops[0] + (stops[1] - stops[0]) * lo + (stops[2] - stops[1]) * hi
        else:
            a, b = _rand_color(rng, sat), _rand_color(rng, sat)
            img = a + (b - a) * f
        img = img.astype(np.float32, copy=False)
    if depth == 0 and rng.random() < 0.25:  # mixtures of two families through a soft or hard mask
        other = background(rng, w, h, depth + 1)
        m = _pattern(["value_noise", "gradient", "stripes", "checker", "blobs"][rng.integers(5)], rng, w, h)
        if rng.random() < 0.5:
            m = (m > 0.5).astype(np.float32)
        m = m[..., None]
        img = img + (other - img) * m
    if rng.random() < 0.4:  # pixel noise, from faint to strong
        noise = rng.standard_normal(img.shape if rng.random() < 0.7 else (h, w, 1), dtype=np.float32)
        img = img + noise * np.float32(rng.uniform(2, 30))
    return np.clip(img, 0, 255, out=img)


# ---------------------------------------------------------------- scenes ---------------------------

@dataclass
class Obj:
    color: str
    shape: str
    rgb: np.ndarray
    cx: float
    cy: float
    size: float
    angle: float
    star_inner: float = 0.45
    cross_half: float = 1 / 6
    vx: float = 0.0
    vy: float = 0.0
    va: float = 0.0
    poly: np.ndarray | None = field(default=None, repr=False)

    def layout(self) -> None:
        self.poly = shape_polygon(self.shape, self.cx, self.cy, self.size, self.angle, self.star_inner,
                                  self.cross_half)

    def box(self) -> list[float]:
        return shape_box(self.shape, self.poly, self.cx, self.cy, self.size)

    def mask(self, w, h):
        return shape_mask(self.shape, self.poly, self.cx, self.cy, self.size, w, h)


def _full_mask(o: Obj, w: int, h: int) -> np.ndarray:
    x0, y0, a = o.mask(w, h)
    m = np.zeros((h, w), bool)
    m[y0:y0 + a.shape[0], x0:x0 + a.shape[1]] = a > 0.5
    return m


def overlap_ok(objs: list[Obj], w: int, h: int, masks=None) -> bool:
    masks = masks or [_full_mask(o, w, h) for o in objs]
    for i in range(len(objs)):
        for j in range(i + 1, len(objs)):
            inter = np.count_nonzero(masks[i] & masks[j])
            small = max(1, min(np.count_nonzero(masks[i]), np.count_nonzero(masks[j])))
            if inter > MAX_COVER * small:
                return False
    return True


def local_bg_mean(bg: np.ndarray, box, pad: float = 0.25) -> np.ndarray:
    h, w = bg.shape[:2]
    bw, bh = box[2] - box[0], box[3] - box[1]
    x0, y0 = int(max(0, box[0] - pad * bw)), int(max(0, box[1] - pad * bh))
    x1, y1 = int(min(w, box[2] + pad * bw + 1)), int(min(h, box[3] + pad * bh + 1))
    return bg[y0:y1, x0:x1].reshape(-1, 3).mean(0)


def contrast_ok(bg: np.ndarray, o: Obj) -> bool:
    return float(np.abs(local_bg_mean(bg, o.box()) - o.rgb).sum()) >= MIN_CONTRAST


def jitter_color(name: str, rng, extra: float = 0.0) -> np.ndarray:
    j = JITTER + extra
    return np.clip(np.array(COLORS[name], np.float64) + rng.uniform(-j, j, 3), 0, 255)


def place_objects(rng, bg: np.ndarray, n: int, pairs, size_range=(0.08, 0.35), max_tries: int = 60,
                  color_extra: float = 0.0, cross_halves: tuple[float, float] | None = None) -> list[Obj]:
    """Up to n objects on bg that satisfy the size, contrast and overlap rules of the world.

    cross_halves: draw each cross's bar half-width from this range (training); None keeps 1/6 and the
    random stream of earlier renderings (fixtures)."""
    h, w = bg.shape[:2]
    short = min(w, h)
    objs: list[Obj] = []
    masks: list[np.ndarray] = []
    tries = 0
    while len(objs) < n and tries < max_tries:
        tries += 1
        color, shape = pairs[rng.integers(len(pairs))]
        size = rng.uniform(*size_range) * short
        o = Obj(color, shape, jitter_color(color, rng, color_extra), 0, 0, size, rng.uniform(0, 2 * np.pi),
                star_inner=rng.uniform(0.38, 0.5))
        if cross_halves is not None and shape == "cross":
            o.cross_half = float(rng.uniform(*cross_halves))
        o.cx = rng.uniform(size / 2, w - size / 2)
        o.cy = rng.uniform(size / 2, h - size / 2)
        o.layout()
        b = o.box()
        if b[0] < 0 or b[1] < 0 or b[2] > w or b[3] > h:
            continue
        if not contrast_ok(bg, o):
            continue
        m = _full_mask(o, w, h)
        if not overlap_ok(objs + [o], w, h, masks + [m]):
            continue
        objs.append(o)
        masks.append(m)
    return objs


def composite(bg: np.ndarray, objs: list[Obj], aa: bool = True) -> np.ndarray:
    img = bg.copy()
    h, w = img.shape[:2]
    for o in objs:  # later objects are drawn on top
        x0, y0, a = o.mask(w, h)
        if a.size == 0:
            continue
        if not aa:
            a = (a > 0.5).astype(np.float32)
        a = a[..., None]
        region = img[y0:y0 + a.shape[0], x0:x0 + a.shape[1]]
        region[:] = region * (1 - a) + o.rgb.astype(np.float32) * a
    return img


def degrade(img: np.ndarray, rng, strength: float = 1.0) -> Image.Image:
    """Light blur, sensor noise and lossy compression, as video would add them."""
    im = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    if rng.random() < 0.5 * strength:
        im = im.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.3)))
    if rng.random() < 0.6 * strength:
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=int(rng.integers(25, 92)),
                subsampling=[0, 1, 2][rng.integers(3)])
        buf.seek(0)
        im = Image.open(buf).convert("RGB")
    return im


def truth_objects(objs: list[Obj]) -> list[dict]:
    return [{"color": o.color, "shape": o.shape, "box": [round(v, 2) for v in o.box()]} for o in objs]
