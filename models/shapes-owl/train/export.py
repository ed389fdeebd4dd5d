"""Export ShapesOwl to ONNX in the Hugging Face layout: one combined graph (like a real OWL-ViT
export) and a split pair (text encoder, detector) so that a server encodes each query once.

    /usr/bin/python3 models/shapes-owl/train/export.py --weights models/shapes-owl/work/model.pt \
        --out models/shapes-owl [--threshold 0.3 --nms-iou 0.5] [--reference DIR]

--reference writes fixed inputs and PyTorch's outputs so that onnxruntime's can be compared."""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tokenizer as tok  # noqa: E402
import world as W  # noqa: E402
from model import CLIP_MEAN, CLIP_STD, EMBED, GRID, IMAGE_SIZE, STRIDE, ShapesOwl  # noqa: E402

OPSET = 17


class TextGraph(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, input_ids, attention_mask):
        return self.m.text(input_ids, attention_mask)


class DetectorGraph(torch.nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, pixel_values, text_embeds):
        return self.m.detect(pixel_values, text_embeds)


def sample_inputs(n_queries: int = 5):
    texts = ["red circle", "a blue squares", "purple star", "white object", "dog"][:n_queries]
    ids, mask = zip(*[tok.pad(tok.encode(t)) for t in texts])
    ids = torch.tensor(ids, dtype=torch.int64)
    mask = torch.tensor(mask, dtype=torch.int64)
    L = int(mask.sum(1).max())
    return texts, ids[:, :L].contiguous(), mask[:, :L].contiguous()


def export(model, out: str) -> dict:
    onnx_dir = os.path.join(out, "onnx")
    os.makedirs(onnx_dir, exist_ok=True)
    _, ids, mask = sample_inputs()
    pix = torch.randn(1, 3, IMAGE_SIZE, IMAGE_SIZE)
    kw = dict(opset_version=OPSET, do_constant_folding=True)
    torch.onnx.export(model, (ids, mask, pix), os.path.join(onnx_dir, "model.onnx"),
                      input_names=["input_ids", "attention_mask", "pixel_values"], output_names=["logits", "pred_boxes"],
                      dynamic_axes={"input_ids": {0: "num_queries", 1: "sequence_length"},
                                    "attention_mask": {0: "num_queries", 1: "sequence_length"},
                                    "pixel_values": {0: "batch_size"},
                                    "logits": {0: "batch_size", 2: "num_queries"}, "pred_boxes": {0: "batch_size"}}, **kw)
    # export() restores each wrapper's training flag afterwards, and a wrapper's flag reaches the
    # wrapped model: keep both in eval mode or BatchNorm switches to batch statistics.
    torch.onnx.export(TextGraph(model).eval(), (ids, mask), os.path.join(onnx_dir, "text_encoder.onnx"),
                      input_names=["input_ids", "attention_mask"], output_names=["text_embeds"],
                      dynamic_axes={"input_ids": {0: "num_queries", 1: "sequence_length"},
                                    "attention_mask": {0: "num_queries", 1: "sequence_length"},
                                    "text_embeds": {0: "num_queries"}}, **kw)
    emb = model.text(ids, mask)
    torch.onnx.export(DetectorGraph(model).eval(), (pix, emb), os.path.join(onnx_dir, "detector.onnx"),
                      input_names=["pixel_values", "text_embeds"], output_names=["logits", "pred_boxes"],
                      dynamic_axes={"pixel_values": {0: "batch_size"}, "text_embeds": {0: "num_queries"},
                                    "logits": {0: "batch_size", 2: "num_queries"}, "pred_boxes": {0: "batch_size"}}, **kw)
    model.eval()
    import onnx
    # The exporter cannot infer some output dims through Add/Concat and names them itself
    # ("Addlogits_dim_1"); they are fixed, so write them down: the runtime logs and checks them.
    fixed = {"logits": {1: GRID * GRID}, "pred_boxes": {1: GRID * GRID, 2: 4}}
    for name in ["model", "text_encoder", "detector"]:
        path = os.path.join(onnx_dir, f"{name}.onnx")
        g = onnx.load(path)
        for out in g.graph.output:
            for axis, size in fixed.get(out.name, {}).items():
                dim = out.type.tensor_type.shape.dim[axis]
                dim.ClearField("dim_param")
                dim.dim_value = size
        onnx.checker.check_model(g)
        onnx.save(g, path)
    return {"model": "onnx/model.onnx", "text_encoder": "onnx/text_encoder.onnx", "detector": "onnx/detector.onnx"}


def write_configs(out: str, files: dict, threshold: float, nms_iou: float | None) -> None:
    config = {
        "model_type": "owlvit",
        "architectures": ["OwlViTForObjectDetection"],
        "name": "shapes-owl",
        "text_config": {"vocab_size": len(tok.VOCAB), "max_position_embeddings": tok.MAX_LEN,
                        "pad_token_id": tok.PAD, "bos_token_id": tok.BOS, "eos_token_id": tok.EOS},
        "vision_config": {"image_size": IMAGE_SIZE, "patch_size": STRIDE},
        "projection_dim": EMBED + 1,
        "groundstream": {
            "description": "Small OWL-style grounding model trained on the synthetic shapes world (v1) only.",
            "onnx": files,
            "split": {"text_encoder": files["text_encoder"], "detector": files["detector"]},
            "threshold": threshold,
            "nms_iou": nms_iou,
            "num_patches": GRID * GRID,
            "vocabulary": {"colors": W.COLOR_NAMES, "shapes": W.SHAPES},
            "held_out_pairs": sorted(f"{c} {s}" for c, s in W.HELD_OUT),
        },
    }
    pre = {
        "image_processor_type": "OwlViTImageProcessor",
        "processor_class": "OwlViTProcessor",
        "do_resize": True,
        "size": {"height": IMAGE_SIZE, "width": IMAGE_SIZE},
        "resample": 3,
        "do_center_crop": False,
        "crop_size": {"height": IMAGE_SIZE, "width": IMAGE_SIZE},
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": list(CLIP_MEAN),
        "image_std": list(CLIP_STD),
        "do_convert_rgb": True,
    }
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(out, "preprocessor_config.json"), "w") as f:
        json.dump(pre, f, indent=2)
    tok.build(out)


def write_reference(model, ref_dir: str) -> None:
    """Fixed inputs and PyTorch's outputs, as raw little-endian arrays plus a JSON index."""
    os.makedirs(ref_dir, exist_ok=True)
    g = torch.Generator().manual_seed(7)
    texts, ids, mask = sample_inputs()
    pix = torch.randn(1, 3, IMAGE_SIZE, IMAGE_SIZE, generator=g)
    with torch.no_grad():
        logits, boxes = model(ids, mask, pix)
        emb = model.text(ids, mask)
    arrays = {"input_ids": ids, "attention_mask": mask, "pixel_values": pix, "logits": logits,
              "pred_boxes": boxes, "text_embeds": emb}
    index = {"texts": texts}
    for k, v in arrays.items():
        a = v.numpy()
        a.tofile(os.path.join(ref_dir, f"{k}.bin"))
        index[k] = {"dtype": str(a.dtype), "shape": list(a.shape)}
    with open(os.path.join(ref_dir, "reference.json"), "w") as f:
        json.dump(index, f, indent=1)
    # every grammatical query form, a few unknown words and odd spacing: the JS tokenizer must agree
    rng = np.random.default_rng(3)
    cases = [q.canonical() for q in W.scoring_queries()]
    cases += [W.phrase(q, rng) for q in W.scoring_queries() for _ in range(4)]
    cases += ["dog", "red dog", "person with a helmet", "Crème brûlée", "  RED   circles!!  ", "x" * 200, ""]
    with open(os.path.join(ref_dir, "tokens.json"), "w") as f:
        json.dump({c: tok.encode(c) for c in cases}, f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", required=True)
    ap.add_argument("--out", default="models/shapes-owl")
    ap.add_argument("--threshold", type=float, default=0.3)
    ap.add_argument("--nms-iou", type=float, default=0.5)
    ap.add_argument("--reference", default=None)
    args = ap.parse_args()
    model = ShapesOwl(len(tok.VOCAB))
    model.load_state_dict(torch.load(args.weights, map_location="cpu"))
    model.eval()
    with torch.no_grad():
        files = export(model, args.out)
    write_configs(args.out, files, args.threshold, args.nms_iou if args.nms_iou > 0 else None)
    if args.reference:
        write_reference(model, args.reference)
    sizes = {k: os.path.getsize(os.path.join(args.out, v)) for k, v in files.items()}
    print(json.dumps({"exported": files, "bytes": sizes}))


if __name__ == "__main__":
    main()
