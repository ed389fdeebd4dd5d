"""Rebuild trainable PyTorch weights from an exported model.onnx, so that training can continue from
the shipped model when its .pt is not at hand (work/ is not committed).

    /usr/bin/python3 models/shapes-owl/train/from_onnx.py --onnx models/shapes-owl/onnx/model.onnx \
        --out models/shapes-owl/work/stage6.pt

The export folds each BatchNorm into the convolution before it (W' = W g / s, b' = beta - m g / s), so
BatchNorm's own parameters are gone. They are rebuilt so that the eval-mode model computes exactly what
the ONNX graph computes, and so that train mode starts where eval mode is: for each folded convolution
the per-channel mean m and standard deviation s of W'x are measured on rendered training scenes, then

    conv.weight = W',  bn.running_mean = m,  bn.running_var = s^2 - eps,  bn.weight = s,  bn.bias = b' + m

which gives bn(conv(x)) = W'x + b' in eval mode, and nearly that with a batch's own statistics.
It also checks the statistics: train mode must start close to eval mode on fresh scenes (mean
|logit_train - logit_eval| <= 1; 0.30 for the shipped weights, 2.2 with every mean off by 3), or the
script fails.

--reference DIR writes the rebuilt model's outputs on fixed inputs; `node models/shapes-owl/check-export.mjs`
on a folder holding the ONNX graphs and that reference (as ref/) then checks that they agree (<= 1e-4)."""
from __future__ import annotations

import argparse
import copy
import os
import sys

import onnx
import torch
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tokenizer as tok  # noqa: E402
from data import Scenes  # noqa: E402
from export import write_reference  # noqa: E402
from model import ShapesOwl  # noqa: E402
from train import batch_outputs, save  # noqa: E402


def folded_convs(model: ShapesOwl):
    """The (conv, bn) pairs in the order the image encoder runs them, which is the export's order."""
    enc = model.image
    blocks = list(enc.stem) + list(enc.down) + [enc.fine] + list(enc.fuse)
    return [(b[0], b[1]) for b in blocks]


def rebuild(onnx_path: str, seed: int = 7, batches: int = 8) -> ShapesOwl:
    graph = onnx.load(onnx_path).graph
    inits = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in graph.initializer}
    model = ShapesOwl(len(tok.VOCAB))
    state = model.state_dict()
    named = {k: v for k, v in inits.items() if k in state}
    model.load_state_dict(named, strict=False)
    # the unnamed initializers are the folded convolutions: weight then bias, in the order the graph uses them
    conv_inputs = [n.input[1:] for n in graph.node if n.op_type == "Conv" and n.input[1] not in state]
    pairs = folded_convs(model)
    if len(conv_inputs) != len(pairs):
        raise SystemExit(f"{onnx_path}: {len(conv_inputs)} folded convolutions, the model has {len(pairs)}")
    for (w_name, b_name), (conv, bn) in zip(conv_inputs, pairs):
        w, b = inits[w_name], inits[b_name]
        if tuple(w.shape) != tuple(conv.weight.shape):
            raise SystemExit(f"{w_name}: shape {tuple(w.shape)} where the model has {tuple(conv.weight.shape)}")
        with torch.no_grad():
            conv.weight.copy_(w)
            bn.bias.copy_(b)  # provisional: identity BN plus the folded bias, until the statistics are measured
            bn.weight.fill_(1.0)
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)
    # measure each folded convolution's output statistics (before its bias) on rendered scenes
    stats = {id(conv): [] for conv, _ in pairs}
    hooks = [conv.register_forward_hook(lambda m, i, o: stats[id(m)].append(o.detach())) for conv, _ in pairs]
    model.eval()
    loader = torch.utils.data.DataLoader(Scenes(seed, 1), batch_size=32, num_workers=0)
    with torch.no_grad():
        for n, batch in enumerate(loader):
            if n >= batches:
                break
            model.image(batch[0])
    for h in hooks:
        h.remove()
    with torch.no_grad():
        for conv, bn in pairs:
            y = torch.cat(stats[id(conv)])  # [N, C, H, W]
            m = y.mean((0, 2, 3))
            s = y.var((0, 2, 3), unbiased=False).add(bn.eps).sqrt()
            bn.running_mean.copy_(m)
            bn.running_var.copy_(s * s - bn.eps)
            bn.weight.copy_(s)
            bn.bias.add_(m)
    return model


def train_mode_gap(model: ShapesOwl, seed: int = 8) -> float:
    """Mean |logit_train - logit_eval| over a fresh batch of rendered scenes and their queries: how far train
    mode (BatchNorm on the batch's own statistics) starts from eval mode. Eval mode is exact whatever
    the statistics are, so this is what shows whether they were measured right."""
    pix, ids, mask = next(iter(torch.utils.data.DataLoader(Scenes(seed, 1), batch_size=32, num_workers=0)))[:3]
    probe = copy.deepcopy(model)  # train mode updates the running statistics
    out = {}
    with torch.no_grad():
        for mode in ("eval", "train"):
            probe.train(mode == "train")
            out[mode] = batch_outputs(probe, pix, ids, mask)[0]
    return float((out["train"] - out["eval"]).abs().mean())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--onnx", default="models/shapes-owl/onnx/model.onnx")
    ap.add_argument("--out", required=True)
    ap.add_argument("--reference", default=None, help="write the rebuilt model's outputs here (check-export.mjs)")
    args = ap.parse_args()
    torch.manual_seed(0)
    model = rebuild(args.onnx).eval()
    gap = train_mode_gap(model)
    print(f"train mode against eval mode on fresh scenes: mean |d logit| {gap:.3f}")
    if gap > 1.0:
        raise SystemExit(f"BatchNorm statistics look wrong: train mode starts {gap:.3f} logits away from eval mode (limit 1)")
    if args.reference:
        write_reference(model, args.reference)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    save(model, args.out)
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
