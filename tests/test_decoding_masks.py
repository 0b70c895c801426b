"""Logit masks: a wrong-modality id never wins, every id of the target's block can; marker steps; end test."""

from __future__ import annotations

import pytest
import torch

from scorebridge.decoding.masks import apply_mask, is_end, slot_masks, step_masks
from scorebridge.midi.vocab import MidiEventConfig
from scorebridge.modality import Modality
from scorebridge.tokens.vocabulary import RVQ_MODALITIES, Vocabulary, VocabularyConfig

VOCAB = Vocabulary(VocabularyConfig(midi=MidiEventConfig(max_shift_steps=101), image_codebook_size=48,
                                    audio_codebook_size=40, max_image_height=6))


def allowed(target: Modality, slot: int) -> set[int]:
    """The ids slot ``slot`` may produce, spelled out from the vocabulary's blocks."""
    if slot == 0:
        ids = set(VOCAB.block(target, 0)) | {VOCAB.eos(target)}
        if target is Modality.IMAGE:
            ids |= {VOCAB.sep} | set(VOCAB.heights)
        return ids
    return set(VOCAB.block(target, slot)) if target in RVQ_MODALITIES else {VOCAB.pad}


@pytest.mark.parametrize("target", list(Modality))
def test_masks_allow_exactly_the_target_ranges(target):
    mask = slot_masks(VOCAB, target)
    assert mask.shape == (4, VOCAB.size) and mask.dtype == torch.bool
    for k in range(4):
        assert set(torch.nonzero(mask[k]).flatten().tolist()) == allowed(target, k)
    assert not mask[0, VOCAB.pad]
    assert not mask[:, [VOCAB.sos(m) for m in Modality]].any()


@pytest.mark.parametrize("target", list(Modality))
def test_a_wrong_modality_id_never_wins_after_masking(target):
    gen = torch.Generator().manual_seed(0)
    mask = slot_masks(VOCAB, target)
    logits = torch.randn(64, 5, 4, VOCAB.size, generator=gen) * 10
    # make other modalities' ids the largest logits on purpose
    for m in Modality:
        if m is not target:
            block = VOCAB.full_block(m)
            logits[..., block.start:block.stop] += 100
    winners = apply_mask(logits, mask).argmax(-1)  # (64, 5, 4)
    for k in range(4):
        ids = set(winners[..., k].flatten().tolist())
        assert ids <= allowed(target, k)
        assert all(VOCAB.modality_of(i) in (target, None) for i in ids)


@pytest.mark.parametrize("target", list(Modality))
def test_every_id_of_the_target_block_can_win(target):
    mask = slot_masks(VOCAB, target)
    for k in range(4):
        for i in sorted(allowed(target, k)):
            logits = torch.zeros(4, VOCAB.size)
            logits[k, i] = 1.0
            assert int(apply_mask(logits, mask)[k].argmax()) == i


def test_apply_mask_sets_minus_infinity_and_checks_shapes():
    mask = slot_masks(VOCAB, Modality.NOTATION)
    out = apply_mask(torch.zeros(2, 4, VOCAB.size), mask)
    assert torch.isneginf(out[:, ~mask]).all() and (out[:, mask] == 0).all()
    with pytest.raises(ValueError):
        apply_mask(torch.zeros(2, 4, VOCAB.size - 1), mask)


def test_step_masks_force_pad_after_a_marker():
    base = slot_masks(VOCAB, Modality.IMAGE)
    code = VOCAB.block(Modality.IMAGE, 0).start + 5
    first = torch.tensor([[code, VOCAB.sep], [VOCAB.height(2), VOCAB.eos(Modality.IMAGE)]])
    masks = step_masks(VOCAB, Modality.IMAGE, first)
    assert masks.shape == (2, 2, 4, VOCAB.size)
    assert torch.equal(masks[0, 0], base)
    for marker in (masks[0, 1], masks[1, 0], masks[1, 1]):
        assert torch.equal(marker[0], base[0])
        assert torch.nonzero(marker[1:].any(0)).flatten().tolist() == [VOCAB.pad]


def test_is_end_looks_at_slot_zero():
    eos = VOCAB.eos(Modality.AUDIO)
    steps = torch.tensor([[eos, 0, 0, 0], [VOCAB.eos(Modality.MIDI), 0, 0, 0], [VOCAB.block(Modality.AUDIO).start,
                                                                                  *VOCAB.block(Modality.AUDIO, 1)[:3]]])
    assert is_end(steps, VOCAB, Modality.AUDIO).tolist() == [True, False, False]
