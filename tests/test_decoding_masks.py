"""Slot masks, applied by the search's chooser: a wrong-modality id never wins, every id of the target's block can."""

from __future__ import annotations

import pytest
import torch

from scorebridge.decoding import DecodingOptions
from scorebridge.decoding.masks import slot_masks
from scorebridge.decoding.search import choose_tokens
from scorebridge.midi.vocab import MidiEventConfig
from scorebridge.modality import Modality
from scorebridge.tokens.vocabulary import RVQ_MODALITIES, Vocabulary, VocabularyConfig

VOCAB = Vocabulary(VocabularyConfig(midi=MidiEventConfig(max_shift_steps=101), image_codebook_size=48,
                                    audio_codebook_size=40, max_image_height=6))
GREEDY = DecodingOptions()


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
    for k in range(4):
        ids = set(choose_tokens(logits[..., k, :].reshape(-1, VOCAB.size), mask[k], GREEDY, None).tolist())
        assert ids <= allowed(target, k)
        assert all(VOCAB.modality_of(i) in (target, None) for i in ids)


@pytest.mark.parametrize("target", list(Modality))
def test_every_id_of_the_target_block_can_win(target):
    mask = slot_masks(VOCAB, target)
    for k in range(4):
        for i in sorted(allowed(target, k)):
            logits = torch.zeros(1, VOCAB.size)
            logits[0, i] = 1.0
            assert int(choose_tokens(logits, mask[k], GREEDY, None)[0]) == i


@pytest.mark.parametrize("method", ["top_p", "sample"])
def test_sampling_draws_only_allowed_ids(method):
    mask = slot_masks(VOCAB, Modality.NOTATION)
    options = DecodingOptions(method=method, temperature=5.0, top_p=0.99)
    drawn = choose_tokens(torch.zeros(256, VOCAB.size), mask[0], options, torch.Generator().manual_seed(0))
    assert set(drawn.tolist()) <= allowed(Modality.NOTATION, 0)
