"""ShapesOwl: a small detector in the OWL-ViT design.

Image encoder -> a G x G grid of patch features; per patch a box (cx, cy, w, h, normalised), a class
embedding, and a learned logit shift and scale. Text encoder -> one embedding per query, pooled at
the end token. logits = scale_p * <class_p, text_q> + shift_p.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

IMAGE_SIZE = 224
STRIDE = 8
GRID = IMAGE_SIZE // STRIDE
EMBED = 64
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def cbr(i: int, o: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(i, o, 3, stride, dilation, dilation, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True))


class ImageEncoder(nn.Module):
    """Stride-8 features with a stride-16 context branch folded back in (receptive field ~150 px)."""

    def __init__(self, c: int = 64):
        super().__init__()
        self.stem = nn.Sequential(cbr(3, 16, 2), cbr(16, 32, 2), cbr(32, c, 2), cbr(c, c))  # -> /8
        self.fine = cbr(c, c)
        self.down = nn.Sequential(cbr(c, 2 * c, 2), cbr(2 * c, 2 * c), cbr(2 * c, 2 * c, dilation=2))  # -> /16
        self.lateral = nn.Conv2d(2 * c, c, 1)
        self.fuse = nn.Sequential(cbr(c, c), cbr(c, c, dilation=2))

    def forward(self, x):
        s8 = self.stem(x)
        s16 = self.down(s8)
        up = F.interpolate(self.lateral(s16), scale_factor=2.0, mode="nearest")
        return self.fuse(self.fine(s8) + up)  # [B, C, G, G]


class TextEncoder(nn.Module):
    """Token embeddings summed causally; the state at the end token is the query's embedding.

    In this world a query is a bag of words (word order means nothing), and the additive form makes
    unseen colour-shape pairs compose from their words: that is what held-out queries need."""

    def __init__(self, vocab: int, dim: int = EMBED):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.proj = nn.Linear(dim, dim + 1)  # the last channel meets the image's constant channel: a query bias
        nn.init.normal_(self.embed.weight, std=0.1)
        nn.init.normal_(self.proj.weight, std=0.02)
        nn.init.zeros_(self.proj.bias)

    def forward(self, input_ids, attention_mask):  # [Q, L] int64 each
        x = self.embed(input_ids) * attention_mask.unsqueeze(-1).to(torch.float32)
        run = torch.cumsum(x, 1)  # [Q, L, D] the running state at each token
        eos = (attention_mask.sum(1) - 1).clamp(min=0)  # [Q] index of the end token (right padding)
        pooled = torch.gather(run, 1, eos.view(-1, 1, 1).expand(-1, 1, run.shape[-1])).squeeze(1)
        return self.proj(pooled)  # [Q, D + 1]


class Heads(nn.Module):
    def __init__(self, c: int = 64, dim: int = EMBED):
        super().__init__()
        self.cls = nn.Conv2d(c, dim, 1)
        self.shift = nn.Conv2d(c, 1, 1)
        self.scale = nn.Conv2d(c, 1, 1)
        self.box = nn.Sequential(nn.Conv2d(c, c, 1), nn.ReLU(inplace=True), nn.Conv2d(c, 4, 1))
        nn.init.constant_(self.shift.bias, -4.6)  # start every patch at p = 0.01, as RetinaNet does
        g = torch.arange(GRID, dtype=torch.float32)
        gy, gx = torch.meshgrid(g, g, indexing="ij")
        self.register_buffer("grid", torch.stack([gx, gy], -1).reshape(1, GRID * GRID, 2) + 0.5, persistent=False)

    def forward(self, f):  # f [B, C, G, G]
        b = f.shape[0]
        cls = self.cls(f).flatten(2).transpose(1, 2)  # [B, P, D]
        cls = torch.cat([cls, torch.ones_like(cls[..., :1])], -1)  # [B, P, D + 1]
        shift = self.shift(f).flatten(2).transpose(1, 2)  # [B, P, 1]
        scale = F.elu(self.scale(f)).flatten(2).transpose(1, 2) + 1.0  # [B, P, 1]
        raw = self.box(f).flatten(2).transpose(1, 2)  # [B, P, 4]
        centre = (self.grid + 2.0 * torch.tanh(raw[..., :2])) / GRID
        size = torch.sigmoid(raw[..., 2:] - 2.0)
        boxes = torch.cat([centre, size], -1)  # [B, P, 4] cx, cy, w, h normalised
        return cls, shift, scale, boxes


class ShapesOwl(nn.Module):
    def __init__(self, vocab: int):
        super().__init__()
        self.image = ImageEncoder()
        self.text = TextEncoder(vocab)
        self.heads = Heads()

    def detect(self, pixel_values, text_embeds):
        """pixel_values [B, 3, S, S]; text_embeds [Q, D+1] shared or [B, Q, D+1] per image."""
        cls, shift, scale, boxes = self.heads(self.image(pixel_values))
        if text_embeds.dim() == 2:
            sim = torch.matmul(cls, text_embeds.t())  # [B, P, Q]
        else:
            sim = torch.bmm(cls, text_embeds.transpose(1, 2))
        return sim * scale + shift, boxes

    def forward(self, input_ids, attention_mask, pixel_values):
        return self.detect(pixel_values, self.text(input_ids, attention_mask))
