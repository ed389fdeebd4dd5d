"""Train ShapesOwl from a fixed seed. Run with Debian's PyTorch:

    /usr/bin/python3 models/shapes-owl/train/train.py --steps 4500 --out models/shapes-owl/work/stage1.pt
    /usr/bin/python3 models/shapes-owl/train/train.py --init models/shapes-owl/work/stage1.pt --steps 2000 \
        --lr 1e-3 --warmup 100 --seed 20261127 --out models/shapes-owl/work/model.pt

(models/shapes-owl/train/train-all.sh runs both stages.)

Scenes are rendered on the fly by one worker process (deterministic for a given seed)."""
from __future__ import annotations

import argparse
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tokenizer as tok  # noqa: E402
from data import MAX_OBJ, Scenes  # noqa: E402
from model import ShapesOwl  # noqa: E402


def cxcywh_to_xyxy(b):
    return torch.cat([b[..., :2] - b[..., 2:] / 2, b[..., :2] + b[..., 2:] / 2], -1)


def giou(a, b):  # [N, 4] xyxy each -> [N]
    lt, rb = torch.max(a[:, :2], b[:, :2]), torch.min(a[:, 2:], b[:, 2:])
    inter = (rb - lt).clamp(min=0).prod(1)
    area_a, area_b = (a[:, 2:] - a[:, :2]).clamp(min=0).prod(1), (b[:, 2:] - b[:, :2]).clamp(min=0).prod(1)
    union = area_a + area_b - inter
    iou = inter / union.clamp(min=1e-9)
    hull = (torch.max(a[:, 2:], b[:, 2:]) - torch.min(a[:, :2], b[:, :2])).clamp(min=0).prod(1)
    return iou - (hull - union) / hull.clamp(min=1e-9)


def batch_outputs(model, pix, ids, mask):
    """Logits [B, P, Q] and boxes [B, P, 4] for a batch whose images each have their own queries."""
    b, q, l = ids.shape
    text = model.text(ids.view(b * q, l), mask.view(b * q, l)).view(b, q, -1)
    return model.detect(pix, text)


def losses(model, batch):
    pix, ids, mask, boxes, match, assigned = batch
    q = ids.shape[1]
    logits, pred = batch_outputs(model, pix, ids, mask)  # [B, P, Q], [B, P, 4]
    # target[b, p, q] = does the object assigned to patch p match query q (background matches nothing)
    col = torch.where(assigned < 0, torch.full_like(assigned, MAX_OBJ), assigned)  # [B, P]
    target = torch.gather(match, 2, col.unsqueeze(1).expand(-1, q, -1)).transpose(1, 2)  # [B, P, Q]
    fg = assigned >= 0
    n_pos = fg.sum().clamp(min=1).float()
    prob = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    p_t = prob * target + (1 - prob) * (1 - target)
    alpha = 0.25 * target + 0.75 * (1 - target)
    cls_loss = (alpha * (1 - p_t) ** 2 * ce).sum() / n_pos
    gt = torch.gather(boxes, 1, assigned.clamp(min=0).unsqueeze(-1).expand(-1, -1, 4))[fg]  # xyxy
    pb = pred[fg]
    gt_c = torch.cat([(gt[:, :2] + gt[:, 2:]) / 2, gt[:, 2:] - gt[:, :2]], -1)
    l1 = (pb - gt_c).abs().sum(1).mean()
    gi = (1 - giou(cxcywh_to_xyxy(pb), gt)).mean()
    return cls_loss, l1, gi


def save(model, path):
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=9000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=20261126)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default="models/shapes-owl/work/model.pt")
    ap.add_argument("--init", default=None, help="start from these weights (the second stage of the recipe)")
    ap.add_argument("--warmup", type=int, default=300)
    ap.add_argument("--hard-share", type=float, default=0.5, help="share of negatives that share a word with the scene")
    ap.add_argument("--minimal-share", type=float, default=0.0, help="of those, the share of one-word-swapped pairs")
    ap.add_argument("--cross-halves", type=float, nargs=2, default=None, help="range of cross bar half-widths")
    ap.add_argument("--reuse", type=int, default=2, choices=(1, 2, 4), help="samples per rendering (4: all mirrors)")
    ap.add_argument("--workers", type=int, default=1, help="rendering processes (each its own seeded stream)")
    ap.add_argument("--device", default="cpu", help="cpu, or cuda where PyTorch has it (results differ in the last bits)")
    ap.add_argument("--queries", type=int, default=12, help="queries per image (3-7 positives, the rest negatives)")
    ap.add_argument("--snapshots", type=int, nargs="*", default=[], help="also keep the weights after these steps")
    args = ap.parse_args()
    import data
    data.HARD_SHARE, data.MINIMAL_SHARE = args.hard_share, args.minimal_share
    data.CROSS_HALVES = tuple(args.cross_halves) if args.cross_halves else None
    if args.queries < 8:
        ap.error("--queries must be at least 8 (up to 7 positives and one negative)")
    data.N_QUERIES = args.queries
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    model = ShapesOwl(len(tok.VOCAB))
    if args.init:
        model.load_state_dict(torch.load(args.init, map_location="cpu"))
    device = torch.device(args.device)
    model.to(device)
    decay = [p for n, p in model.named_parameters() if p.dim() > 1]
    no_decay = [p for n, p in model.named_parameters() if p.dim() <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 1e-4}, {"params": no_decay, "weight_decay": 0}], lr=args.lr)
    warm = max(1, min(args.warmup, args.steps // 10))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(1.0, s / args.steps))))
    loader = torch.utils.data.DataLoader(Scenes(args.seed, args.reuse), batch_size=args.batch, num_workers=args.workers, prefetch_factor=4,
                                         persistent_workers=True, pin_memory=args.device != "cpu")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    model.train()
    t0 = time.time()
    avg = None
    for step, batch in enumerate(loader):
        if step >= args.steps:
            break
        batch = [t.to(device, non_blocking=True) for t in batch]
        cls_loss, l1, gi = losses(model, batch)
        loss = cls_loss + 5 * l1 + 2 * gi
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        sched.step()
        cur = torch.tensor([loss.item(), cls_loss.item(), l1.item(), gi.item()])
        avg = cur if avg is None else 0.98 * avg + 0.02 * cur
        if step % 50 == 0 or step == args.steps - 1:
            el = time.time() - t0
            print(f"step {step:6d}  loss {avg[0]:.4f}  cls {avg[1]:.4f}  l1 {avg[2]:.4f}  giou {avg[3]:.4f}  "
                  f"lr {sched.get_last_lr()[0]:.2e}  {el / 60:.1f} min  {(step + 1) * args.batch / max(el, 1e-6):.1f} img/s",
                  flush=True)
        if step % 1000 == 999:
            save(model, args.out)
        if step + 1 in args.snapshots:
            save(model, f"{os.path.splitext(args.out)[0]}.step{step + 1}.pt")
    save(model, args.out)
    print(f"done in {(time.time() - t0) / 60:.1f} min -> {args.out}", flush=True)


if __name__ == "__main__":
    main()
