"""The shapes world's tokenizer: a WordPiece model over a whole-word vocabulary, CLIP-style framing.

`build()` writes tokenizer.json / tokenizer_config.json for @huggingface/tokenizers and
transformers.js; `encode()` is the same algorithm in Python for training (checked against the JS
tokenizer by the smoke test)."""
from __future__ import annotations

import json
import unicodedata

from world import COLOR_NAMES, SHAPES

MAX_LEN = 16
PUNCT = list(".,!?;:-'\"()")
WORDS = ["a", "an", "the", *COLOR_NAMES, *SHAPES, "shape", "object", "thing"]
SUFFIXES = ["##s", "##es"]
# [PAD] is 0 as in CLIP; [EOS] has the highest id so that argmax(input_ids) also finds it.
VOCAB = ["[PAD]", "[UNK]", *PUNCT, *WORDS, *SUFFIXES, "[BOS]", "[EOS]"]
IDS = {t: i for i, t in enumerate(VOCAB)}
PAD, UNK, BOS, EOS = IDS["[PAD]"], IDS["[UNK]"], IDS["[BOS]"], IDS["[EOS]"]


def _is_punct(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _pretokenize(text: str) -> list[str]:
    words, cur = [], ""
    for ch in text.lower():
        if ch.isspace():
            if cur:
                words.append(cur)
            cur = ""
        elif _is_punct(ch):
            if cur:
                words.append(cur)
            words.append(ch)
            cur = ""
        else:
            cur += ch
    if cur:
        words.append(cur)
    return words


def _wordpiece(word: str) -> list[int]:
    out, start = [], 0
    while start < len(word):
        end, piece = len(word), None
        while start < end:
            sub = word[start:end] if start == 0 else "##" + word[start:end]
            if sub in IDS:
                piece = IDS[sub]
                break
            end -= 1
        if piece is None:
            return [UNK]
        out.append(piece)
        start = end
    return out


def encode(text: str) -> list[int]:
    """[BOS] content [EOS], the content truncated so that the whole fits in MAX_LEN."""
    ids = [i for w in _pretokenize(text) for i in _wordpiece(w)]
    return [BOS, *ids[: MAX_LEN - 2], EOS]


def pad(ids: list[int]) -> tuple[list[int], list[int]]:
    return ids + [PAD] * (MAX_LEN - len(ids)), [1] * len(ids) + [0] * (MAX_LEN - len(ids))


def build(out_dir: str) -> None:
    special = ["[PAD]", "[UNK]", "[BOS]", "[EOS]"]
    tok = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": IDS[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True} for t in special],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[BOS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[EOS]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[BOS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[EOS]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[EOS]", "type_id": 1}}],
            "special_tokens": {t: {"id": t, "ids": [IDS[t]], "tokens": [t]} for t in ["[BOS]", "[EOS]"]},
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": IDS},
    }
    cfg = {
        "tokenizer_class": "BertTokenizer",
        "model_max_length": MAX_LEN,
        "do_lower_case": True,
        "unk_token": "[UNK]",
        "pad_token": "[PAD]",
        "bos_token": "[BOS]",
        "eos_token": "[EOS]",
        "cls_token": "[BOS]",
        "sep_token": "[EOS]",
        "clean_up_tokenization_spaces": True,
        "padding_side": "right",
    }
    with open(f"{out_dir}/tokenizer.json", "w") as f:
        json.dump(tok, f, indent=1)
    with open(f"{out_dir}/tokenizer_config.json", "w") as f:
        json.dump(cfg, f, indent=1)
    with open(f"{out_dir}/special_tokens_map.json", "w") as f:
        json.dump({k: cfg[k] for k in ["unk_token", "pad_token", "bos_token", "eos_token"]}, f, indent=1)
