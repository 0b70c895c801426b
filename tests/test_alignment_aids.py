"""Training aids for alignment (model/loss.py): the guided-attention prior, a diagonal band over (target step,
source column), and a CTC loss on the encoder for notation targets; each added to the loss only when asked, with
gradients that do what they are for."""

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


def _ctc_batch(vocab: int, start: int) -> TranslationBatch:
    """Two notation rows (LMX ids from ``start``) of 5 and 3 tokens over 12 source steps, and one MIDI row."""
    b, s, t = 3, 12, 7
    tgt = torch.zeros(b, t, 4, dtype=torch.long)
    tgt[:, 0, 0] = 3  # SOS
    tgt[0, 1:6, 0] = torch.tensor([start, start + 4, start + 4, start + 2, start + 9])
    tgt[0, 6, 0] = 7  # EOS (outside the LMX block)
    tgt[1, 1:4, 0] = torch.tensor([start + 1, start + 2, start + 3])
    tgt[1, 4, 0] = 7
    tgt[2, 1:6, 0] = torch.tensor([250, 251, 252, 253, 254])
    pad = torch.zeros(b, s, dtype=torch.bool)
    pad[1, 9:] = True
    g = torch.Generator().manual_seed(1)
    return TranslationBatch(
        src_tokens=torch.randint(1, vocab, (b, s, 4), generator=g), src_x=torch.arange(s).expand(b, -1),
        src_y=torch.zeros(b, s, dtype=torch.long), src_pad=pad, src_modality=torch.tensor([0, 0, 3]),
        tgt_tokens=tgt, tgt_x=torch.arange(t).expand(b, -1), tgt_y=torch.zeros(b, t, dtype=torch.long),
        tgt_modality=torch.tensor([1, 1, 2]))


def test_encoder_ctc_reads_notation_rows_and_learns_them():
    from scorebridge.model.loss import encoder_ctc_sum

    start = 20
    torch.manual_seed(0)
    config = dataclasses.replace(model_preset("tiny", vocab_size=300), dropout=0.0, ctc_classes=16)
    model = Translator(config)
    batch = _ctc_batch(300, start)
    plain = translation_loss(model, batch)
    with_ctc = translation_loss(model, batch, ctc=0.5, ctc_notation=1, ctc_start=start)
    assert plain.ctc is None and with_ctc.ctc is not None and float(with_ctc.ctc) > 0
    assert torch.allclose(with_ctc.row_loss, plain.row_loss)
    memory = model.decoder_output(batch).memory
    total = encoder_ctc_sum(model, memory, batch, 1, start)
    # the MIDI row adds nothing: the sum equals that of the two notation rows alone
    only = dataclasses.replace(batch, **{f: getattr(batch, f)[:2] for f in (
        "src_tokens", "src_x", "src_y", "src_pad", "src_modality", "tgt_tokens", "tgt_x", "tgt_y", "tgt_modality")})
    assert torch.allclose(total, encoder_ctc_sum(model, model.decoder_output(only).memory, only, 1, start),
                          rtol=1e-5)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = float(total.detach())
    for _ in range(80):
        loss = encoder_ctc_sum(model, model.decoder_output(batch).memory, batch, 1, start)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.2 * first, (first, float(loss.detach()))
    with pytest.raises(ValueError, match="no CTC head"):
        encoder_ctc_sum(Translator(model_preset("tiny", vocab_size=300)), memory, batch, 1, start)
