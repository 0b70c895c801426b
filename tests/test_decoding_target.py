"""generate_target on a random tiny translator with the real vocabulary: every target decodes, ids stay in their
ranges, the KV cache changes nothing, seeded sampling repeats without touching the global RNG, limits cap."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from _translator_fixtures import tiny_model
from scorebridge.decoding import DecodingOptions, generate, generate_target
from scorebridge.decoding.masks import slot_masks
from scorebridge.modality import Modality
from scorebridge.tokens.layout import LengthLimits, Steps, decode, target_positions
from scorebridge.tokens.vocabulary import Vocabulary

VOCAB = Vocabulary()
IMAGE = Modality.IMAGE


@pytest.fixture(scope="module")
def model():
    return tiny_model(seed=3, vocab=VOCAB.size)


def _memory(model, target: Modality, b: int = 3, s: int = 6):
    g = torch.Generator().manual_seed(5)
    src = torch.zeros(b, s, 4, dtype=torch.long)
    src[..., 0] = torch.randint(VOCAB.block(Modality.NOTATION).start, VOCAB.block(Modality.NOTATION).stop, (b, s),
                                generator=g)
    src_pad = torch.zeros(b, s, dtype=torch.bool)
    src_pad[1, 4:] = True
    zeros = torch.zeros(b, s, dtype=torch.long)
    src_modality = torch.full((b,), list(Modality).index(Modality.NOTATION))
    tgt_modality = torch.full((b,), list(Modality).index(target))
    return model.encode(src, torch.arange(s).expand(b, s), zeros, src_modality, tgt_modality, src_pad), src_pad


def _check_steps(steps: Steps, target: Modality) -> None:
    """Ids in the target's ranges, markers followed by PAD, positions as tokens.layout, and it decodes."""
    assert steps.modality is target
    masks = slot_masks(VOCAB, target).numpy()
    first = steps.tokens[:, 0]
    assert masks[0][first].all(), "slot 0 outside the target's ids"
    marker = first < VOCAB.specials.stop
    assert (steps.tokens[marker, 1:] == VOCAB.pad).all()
    for k in range(1, 4):
        assert masks[k][steps.tokens[~marker, k]].all(), f"slot {k} outside codebook {k}"
    x, y = target_positions(first, target, VOCAB)
    assert np.array_equal(steps.x, x) and np.array_equal(steps.y, y)
    assert VOCAB.sos(target) not in first
    value = decode(steps, VOCAB, as_target=True)
    if target is IMAGE:
        assert value, "at least one system"
        for grid in value:  # decode_image checked h * w steps per system; w >= 1 by construction
            assert grid.ndim == 3 and grid.shape[0] >= 1 and grid.shape[1] >= 1 and grid.shape[2] == 4


@pytest.mark.parametrize("target", list(Modality))
@pytest.mark.parametrize("method", ["greedy", "top_p"])
def test_every_target_decodes_with_greedy_and_top_p(model, target, method):
    memory, pad = _memory(model, target)
    options = DecodingOptions(method=method, temperature=1.5, top_p=0.95, seed=2, max_steps=24)
    out = generate_target(model, memory, pad, target, VOCAB, options)
    assert len(out) == 3
    for steps in (row.steps for row in out):
        assert len(steps) <= 24
        _check_steps(steps, target)


def test_sampled_images_reach_several_systems_and_columns(model):
    memory, pad = _memory(model, IMAGE, b=4)
    systems = []
    for seed in range(3):
        options = DecodingOptions(method="sample", temperature=3.0, seed=seed, max_steps=30)
        for steps in (row.steps for row in generate_target(model, memory, pad, IMAGE, VOCAB, options)):
            _check_steps(steps, IMAGE)
            systems += decode(steps, VOCAB, as_target=True)
    assert len(systems) > 12  # more than one system per sequence on average
    assert any(grid.shape[1] > 1 for grid in systems)


@pytest.mark.parametrize("target", list(Modality))
def test_kv_cache_equals_full_recomputation_with_the_grammar(model, target):
    memory, pad = _memory(model, target)
    runs = [[row.steps for row in generate_target(model, memory, pad, target, VOCAB, DecodingOptions(
                method="top_p", temperature=2.0, seed=1, max_steps=20, use_cache=cache))]
            for cache in (True, False)]
    assert runs[0] == runs[1]


def test_seeded_sampling_repeats_and_leaves_the_global_rng_alone(model):
    memory, pad = _memory(model, IMAGE)
    state = torch.random.get_rng_state()
    runs = [[row.steps for row in generate_target(model, memory, pad, IMAGE, VOCAB,
                                                  DecodingOptions(method="sample", seed=seed, temperature=3.0,
                                                                  max_steps=20))]
            for seed in (7, 7, 8)]
    assert torch.equal(torch.random.get_rng_state(), state)
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_max_steps_is_capped_by_the_limits_and_the_model_positions():
    model = tiny_model(seed=3, vocab=VOCAB.size, max_x=8, max_y=3)
    memory, pad = _memory(model, Modality.AUDIO)
    options = DecodingOptions(max_steps=5000)
    for row in generate_target(model, memory, pad, Modality.AUDIO, VOCAB, options):
        assert len(row.steps) <= 8  # max_x
    limits = LengthLimits(audio=6)
    for row in generate_target(model, memory, pad, Modality.AUDIO, VOCAB, options, limits):
        assert len(row.steps) <= 5  # the limit counts SOS (and EOS)
    memory, pad = _memory(model, IMAGE, b=4)
    options = DecodingOptions(method="sample", temperature=3.0, max_steps=60)
    for steps in (row.steps for row in generate_target(model, memory, pad, IMAGE, VOCAB, options,
                                                       LengthLimits(image=40))):
        _check_steps(steps, IMAGE)
        assert len(steps) <= 38  # 40 with SOS and EOS
        assert steps.x.max() < 8 and steps.y.max() < 3  # the model's position tables


def test_mismatched_vocabulary_and_tiny_image_budget_raise(model):
    memory, pad = _memory(model, IMAGE)
    small = tiny_model(vocab=100)
    with pytest.raises(ValueError, match="does not fit"):
        generate_target(small, memory, pad, IMAGE, VOCAB, DecodingOptions())
    with pytest.raises(ValueError, match="at least 3"):
        generate_target(model, memory, pad, IMAGE, VOCAB, DecodingOptions(max_steps=2))


def test_generate_intersects_rules_with_fixed_masks_and_rejects_empty_rules(model):
    from scorebridge.decoding.grammar import TargetGrammar

    target = Modality.NOTATION
    memory, pad = _memory(model, target)
    grammar = TargetGrammar(VOCAB, target, max_steps=12, max_x=model.config.max_x, max_y=model.config.max_y)
    sos = torch.tensor([VOCAB.sos(target), 0, 0, 0])
    index = target.index
    fixed = slot_masks(VOCAB, target)
    fixed[0, VOCAB.block(target).start + 40:] = False  # only the first 40 LMX ids
    fixed[0, VOCAB.eos(target)] = False  # and never the end
    out = generate(model, memory, pad, index, sos, VOCAB.eos(target), fixed, DecodingOptions(max_steps=12),
                   positions=grammar.positions, rules=grammar).tokens
    assert out.shape == (3, 12, 4) and fixed[0][out[..., 0]].all() and (out[..., 1:] == VOCAB.pad).all()

    class Nothing:
        def first_slot(self, tokens):
            return torch.zeros(tokens.shape[0], VOCAB.size, dtype=torch.bool)

        other_slots = grammar.other_slots

    with pytest.raises(ValueError, match="allow no id"):
        generate(model, memory, pad, index, sos, VOCAB.eos(target), None, DecodingOptions(max_steps=4),
                 rules=Nothing())
    with pytest.raises(ValueError, match="slot_masks, rules or both"):
        generate(model, memory, pad, index, sos, VOCAB.eos(target), None, DecodingOptions(max_steps=4))
