"""Small random batches for the translator and decoding tests."""

from __future__ import annotations

import torch

from scorebridge.model import TranslationBatch, Translator, model_preset

VOCAB = 40


def tiny_model(seed: int = 0, vocab: int = VOCAB, **changes: object) -> Translator:
    torch.manual_seed(seed)
    cfg = model_preset("tiny", vocab)
    if changes:
        import dataclasses

        cfg = dataclasses.replace(cfg, **changes)
    return Translator(cfg).eval()


def random_batch(b: int = 3, s: int = 9, t: int = 7, vocab: int = VOCAB, seed: int = 1) -> TranslationBatch:
    """b is 3 or 4: sample 0 has a single-stream source, 1 a padded source, 2 a padded target."""
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(1, vocab, (b, s, 4), generator=g)
    src[0, :, 1:] = 0  # a single-stream source: PAD in slots 1-3
    src_pad = torch.zeros(b, s, dtype=torch.bool)
    src_pad[1, s - 3 :] = True  # sample 1: a shorter source
    src[1, s - 3 :] = 0
    tgt = torch.randint(1, vocab, (b, t, 4), generator=g)
    tgt[2, t - 2 :] = 0  # sample 2: a shorter target padded with PAD steps
    return TranslationBatch(
        src_tokens=src, src_x=torch.arange(s).expand(b, s), src_y=torch.randint(0, 5, (b, s), generator=g),
        src_pad=src_pad, src_modality=torch.tensor([0, 2, 3, 1])[:b], tgt_tokens=tgt,
        tgt_x=(torch.arange(t) - 1).clamp_min(0).expand(b, t), tgt_y=torch.zeros(b, t, dtype=torch.long),
        tgt_modality=torch.tensor([1, 3, 0, 2])[:b])
