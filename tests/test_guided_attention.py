"""The guided-attention prior (model/loss.py): a diagonal band over (target step, source column), added to the
loss only when asked, with gradients that move cross-attention towards the band."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from scorebridge.model import Translator, model_preset, translation_loss
from scorebridge.model.loss import diagonal_penalty
from scorebridge.model.translator import TranslationBatch


def test_penalty_is_zero_on_the_diagonal_and_grows_away_from_it():
    src_x = torch.tensor([[0, 1, 2, 3, 4, 5, 6, 7, 0, 0]])
    pad = torch.tensor([[False] * 8 + [True] * 2])
    real = torch.tensor([[True] * 4 + [False] * 2])  # 4 scored steps over 8 columns: step t sits at column 2t+0.5
    band = diagonal_penalty(src_x, pad, real, width=0.2)
    assert band.shape == (1, 6, 10)
    assert band.min() >= 0 and band.max() <= 1
    for t in range(4):
        row = band[0, t, :8]
        nearest = int(row.argmin())
        assert nearest in (2 * t, 2 * t + 1)
        assert torch.all(row[nearest:].diff() >= 0) and torch.all(row[:nearest + 1].diff() <= 0)


def _batch(vocab: int, seed: int = 0) -> TranslationBatch:
    g = torch.Generator().manual_seed(seed)
    b, s, t = 2, 12, 8
    tgt = torch.randint(1, vocab, (b, t, 4), generator=g)
    tgt[:, :, 1:] = 0
    tgt[1, 6:] = 0
    return TranslationBatch(
        src_tokens=torch.randint(1, vocab, (b, s, 4), generator=g), src_x=torch.arange(s).expand(b, -1),
        src_y=torch.zeros(b, s, dtype=torch.long), src_pad=torch.zeros(b, s, dtype=torch.bool),
        src_modality=torch.tensor([0, 0]), tgt_tokens=tgt, tgt_x=torch.arange(t).expand(b, -1),
        tgt_y=torch.zeros(b, t, dtype=torch.long), tgt_modality=torch.tensor([1, 1]))


def test_guide_adds_its_penalty_and_leaves_the_cross_entropy_alone():
    torch.manual_seed(0)
    model = Translator(dataclasses.replace(model_preset("tiny", vocab_size=300), dropout=0.0)).eval()
    batch = _batch(300)
    plain = translation_loss(model, batch)
    guided = translation_loss(model, batch, guide=2.0)
    assert plain.guide is None and guided.guide is not None and 0 < float(guided.guide) < 1
    assert torch.allclose(guided.row_loss, plain.row_loss) and torch.equal(guided.tokens, plain.tokens)
    steps = int((batch.tgt_tokens[:, 1:] != 0).any(-1).sum())
    assert torch.allclose(guided.loss_sum - plain.loss_sum, 2.0 * guided.guide * steps, rtol=1e-4)
    with pytest.raises(ValueError):
        translation_loss(model, batch, guide=-1.0)


def test_guide_alone_pulls_attention_onto_the_diagonal():
    torch.manual_seed(0)
    model = Translator(dataclasses.replace(model_preset("tiny", vocab_size=300), dropout=0.0))
    batch = _batch(300)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    before = float(translation_loss(model, batch, guide=1.0).guide)
    for _ in range(60):
        r = translation_loss(model, batch, guide=1.0)
        opt.zero_grad()
        (r.loss_sum - r.row_loss.sum()).backward()  # the penalty's gradient only: attention is all it can move
        opt.step()
    after = float(translation_loss(model, batch, guide=1.0).guide)
    assert after < 0.5 * before, (before, after)
