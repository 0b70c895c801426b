"""Throughput changes of issue 19 that must not change what is learned: the one-slot sub-decoder path, length-
sorted micro-batches under a token budget, samples held in memory."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from scorebridge.model import Translator, model_preset, translation_loss
from scorebridge.model.translator import TranslationBatch


def _batch(vocab: int, seed: int = 0) -> TranslationBatch:
    """Two rows with one-slot targets (LMX-like: slots 1..3 PAD) and one with four-slot targets, padded."""
    g = torch.Generator().manual_seed(seed)
    b, s, t = 3, 7, 9
    tgt = torch.randint(1, vocab, (b, t, 4), generator=g)
    tgt[:2, :, 1:] = 0  # rows 0 and 1: one slot per step
    tgt[0, 6:] = 0  # row 0 shorter: PAD steps
    tgt[2, 8:] = 0
    src_pad = torch.zeros(b, s, dtype=torch.bool)
    src_pad[1, 5:] = True
    return TranslationBatch(
        src_tokens=torch.randint(1, vocab, (b, s, 4), generator=g), src_x=torch.arange(s).expand(b, -1),
        src_y=torch.zeros(b, s, dtype=torch.long), src_pad=src_pad, src_modality=torch.tensor([0, 3, 1]),
        tgt_tokens=tgt, tgt_x=torch.arange(t).expand(b, -1), tgt_y=torch.zeros(b, t, dtype=torch.long),
        tgt_modality=torch.tensor([1, 2, 3]))


def _reference_loss(model: Translator, batch: TranslationBatch) -> tuple[torch.Tensor, torch.Tensor]:
    """Every slot of every step through the sub-decoder and head (the model's full forward), PAD ignored."""
    logits = model(batch)
    labels = batch.tgt_tokens[:, 1:]
    ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=0, reduction="none")
    row_loss = ce.view(labels.shape).sum(dim=(1, 2))
    return row_loss.sum(), row_loss


@pytest.mark.parametrize("chunk_steps", [4096, 5])
def test_one_slot_steps_give_the_full_loss_and_gradients(chunk_steps):
    torch.manual_seed(0)
    model = Translator(model_preset("tiny", 50))
    batch = _batch(50)
    ref_sum, ref_rows = _reference_loss(model, batch)
    ref_grads = torch.autograd.grad(ref_sum, list(model.parameters()), allow_unused=True)
    r = translation_loss(model, batch, chunk_steps=chunk_steps)
    grads = torch.autograd.grad(r.loss_sum, list(model.parameters()), allow_unused=True)
    assert float(r.loss_sum) == pytest.approx(float(ref_sum), rel=1e-5)
    assert torch.allclose(r.row_loss, ref_rows.detach(), rtol=1e-5)
    assert int(r.tokens) == int((batch.tgt_tokens[:, 1:] != 0).sum())
    assert r.row_tokens.tolist() == (batch.tgt_tokens[:, 1:] != 0).sum(dim=(1, 2)).tolist()
    for a, b in zip(grads, ref_grads, strict=True):
        assert (a is None) == (b is None) or (a is None and not b.any()) or (b is None and not a.any())
        if a is not None and b is not None:
            assert torch.allclose(a, b, atol=1e-6, rtol=1e-4)


def test_the_one_slot_path_skips_the_later_slots_flops():
    from torch.utils.flop_counter import FlopCounterMode

    torch.manual_seed(0)
    model = Translator(model_preset("tiny", 5000))
    batch = _batch(5000)
    one_slot = TranslationBatch(**{**batch.__dict__, "tgt_tokens": batch.tgt_tokens.clone()})
    one_slot.tgt_tokens[2, :, 1:] = 0
    counts = []
    for b in (batch, one_slot):
        with FlopCounterMode(display=False) as counter:
            translation_loss(model, b)
        counts.append(counter.get_total_flops())
    # row 2's 8 steps go from 4 head slots to 1 (45 -> 21 slot-heads in all); the 5,000-id head dominates
    assert counts[1] < counts[0] * 0.7
