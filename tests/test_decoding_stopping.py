"""Stop rules of decoding: loops are cut and reported (LMX, MIDI targets only), legitimate repeated bars are not,
the source-length bound applies per row of a batch, eos_bias moves the end, every row says why it ended."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from _translator_fixtures import tiny_model
from scorebridge.decoding import DecodingOptions, generate, generate_target, stopping
from scorebridge.decoding.stopping import (
    END_REASONS,
    LengthBound,
    SourceLength,
    end_counts,
    ends_in_loop,
    longest_cycles,
    row_step_limits,
    source_units,
    source_units_of,
)
from scorebridge.modality import Modality
from scorebridge.tokens.layout import encode, encode_lmx
from scorebridge.tokens.vocabulary import Vocabulary

VOCAB = Vocabulary()
NOTATION, MIDI, AUDIO, IMAGE = Modality.NOTATION, Modality.MIDI, Modality.AUDIO, Modality.IMAGE
OFF = dict(loop_repeats=0, source_bound=False)

# a legitimate bar: sixteenths on one pitch, the longest exact cycle measured in the Lieder train systems
# (period 2, 6 copies), then a bar of repeated chords and an Alberti bass (period 8, 5 copies)
REPEATED_BARS = ("measure key:fifths:1 time beats:3 beat-type:4 clef:G2 staff:1 "
                 + "B4 16th " * 6 + "chord G4 16th chord B4 16th E4 16th " * 5
                 + "measure " + "C4 eighth stem:up beam:begin E4 eighth stem:up beam:end " * 3).split()


@pytest.fixture(scope="module")
def model():
    return tiny_model(seed=3, vocab=VOCAB.size)


def _memory(model, target: Modality, b: int = 3, s: int = 6):
    g = torch.Generator().manual_seed(5)
    src = torch.zeros(b, s, 4, dtype=torch.long)
    src[..., 0] = torch.randint(VOCAB.block(NOTATION).start, VOCAB.block(NOTATION).stop, (b, s), generator=g)
    pad = torch.zeros(b, s, dtype=torch.bool)
    zeros = torch.zeros(b, s, dtype=torch.long)
    memory = model.encode(src, torch.arange(s).expand(b, s), zeros, torch.full((b,), list(Modality).index(NOTATION)),
                          torch.full((b,), list(Modality).index(target)), pad)
    return memory, pad


def _favour(model, token: int, bias: float = 100.0):
    """A copy of ``model`` whose output head prefers ``token`` everywhere it is allowed."""
    import copy

    biased = copy.deepcopy(model)
    with torch.no_grad():
        biased.sub.head.bias[token] += bias
    return biased


# ---------------------------------------------------------------- the loop rule itself
def test_a_cycle_is_found_at_exactly_the_given_number_of_copies():
    cycle = [7, 8, 9]
    row = torch.tensor([[1, 2] + cycle * 4])
    assert bool(ends_in_loop(row, repeats=4, max_period=3)[0])
    assert not bool(ends_in_loop(row[:, :-1], repeats=4, max_period=3)[0])  # 4 copies less one id
    assert not bool(ends_in_loop(row, repeats=5, max_period=8)[0])
    assert not bool(ends_in_loop(row, repeats=4, max_period=2)[0])  # period 3 is not looked for
    rows = torch.tensor([[5] * 6, [1, 2, 1, 2, 1, 2], [1, 2, 3, 4, 5, 6]])
    assert ends_in_loop(rows, repeats=3, max_period=2).tolist() == [True, True, False]
    with pytest.raises(ValueError):
        ends_in_loop(rows, repeats=1, max_period=2)


def test_longest_cycles_measures_runs_in_tokens():
    ids = np.array([1, 2, 1, 2, 1, 2, 1, 3, 3, 3])
    runs = longest_cycles(ids, 3)
    assert runs.tolist() == [3, 7, 3]  # 3 3 3; 1 2 1 2 1 2 1; nothing repeats at period 3: one copy
    assert longest_cycles(np.array([4, 4]), 3).tolist() == [2, 2, 2]


def test_legitimate_repeated_bars_of_lmx_are_never_cut_with_the_defaults():
    options = DecodingOptions()
    ids = torch.as_tensor(encode_lmx(REPEATED_BARS, VOCAB).tokens[:, 0])
    for t in range(1, len(ids) + 1):  # the rule runs after every step: no prefix may look like a loop
        assert not bool(ends_in_loop(ids[None, :t], options.loop_repeats, options.loop_max_period)[0]), t
    # and the measured margin: the longest legitimate cycle is below the threshold at every period
    runs = longest_cycles(ids.numpy(), options.loop_max_period)
    assert all(runs[p - 1] < options.loop_repeats * p for p in range(1, options.loop_max_period + 1))


# ---------------------------------------------------------------- in the search
def test_a_loop_is_cut_and_reported_for_notation_but_not_for_audio(model):
    note = int(VOCAB.lmx_ids(["quarter"])[0])
    looping = _favour(model, note)
    memory, pad = _memory(looping, NOTATION)
    options = DecodingOptions(max_steps=60, loop_repeats=5, loop_max_period=4, source_bound=False)
    rows = generate_target(looping, memory, pad, NOTATION, VOCAB, options)
    for row in rows:
        assert row.end == "loop"
        assert len(row.steps) == 5 and (row.steps.tokens[:, 0] == note).all()  # the repeats are kept
    code = VOCAB.block(AUDIO, 0).start
    silent = _favour(model, code)
    memory, pad = _memory(silent, AUDIO)
    rows = generate_target(silent, memory, pad, AUDIO, VOCAB, options)
    assert [r.end for r in rows] == ["max_steps"] * 3 and all(len(r.steps) == 60 for r in rows)


def test_source_length_bound_applies_per_row_of_a_batch(model, monkeypatch):
    monkeypatch.setitem(stopping.SOURCE_BOUNDS, (IMAGE, NOTATION), LengthBound(per_unit=2.0, offset=3))
    memory, pad = _memory(model, NOTATION)
    source = SourceLength(IMAGE, torch.tensor([1, 5, 40]))
    options = DecodingOptions(max_steps=30, eos_bias=-1e4, loop_repeats=0)
    rows = generate_target(model, memory, pad, NOTATION, VOCAB, options, source=source)
    assert [r.end for r in rows] == ["source_length", "source_length", "max_steps"]
    assert [len(r.steps) for r in rows] == [5, 13, 30]  # 2 * 1 + 3, 2 * 5 + 3; 83 is above the step limit
    off = generate_target(model, memory, pad, NOTATION, VOCAB,
                                         DecodingOptions(max_steps=30, eos_bias=-1e4, **OFF), source=source)
    assert [r.end for r in off] == ["max_steps"] * 3
    for cut, whole in zip(rows, off, strict=True):  # cutting never changes what came before
        assert np.array_equal(cut.steps.tokens, whole.steps.tokens[: len(cut.steps)])
    assert row_step_limits(AUDIO, IMAGE, [3], 100) is None  # no bound known for image targets


def test_source_units_count_image_columns_and_sequence_steps():
    grid = np.ones((3, 7, 4), np.int64)  # 3 rows, 7 columns
    image = encode(IMAGE, [grid, grid[:, :2]], VOCAB, as_target=False)
    lmx = encode_lmx(REPEATED_BARS[:10], VOCAB)
    assert source_units_of(image, VOCAB) == 9 and source_units_of(lmx, VOCAB) == 10
    tokens = torch.as_tensor(lmx.tokens)[None].repeat(2, 1, 1)
    pad = torch.zeros(2, 10, dtype=torch.bool)
    pad[1, 6:] = True
    assert source_units(tokens, torch.zeros(2, 10, dtype=torch.long), pad, VOCAB).tolist() == [10, 6]


def test_source_units_count_sources_read_as_features():
    from scorebridge.tokens.features import FeatureSpec
    from scorebridge.tokens.layout import encode_features

    spec = FeatureSpec(image="pixels", audio="mel")
    patches = np.zeros((3, 7, spec.image_dim), np.float32)  # PAD tokens, SEP between the systems
    image = encode_features(IMAGE, [patches, patches[:, :2]], VOCAB, spec)
    mel = encode_features(AUDIO, np.zeros((40, spec.mel_bins), np.float32), VOCAB, spec)
    assert source_units_of(image, VOCAB) == 9 and source_units_of(mel, VOCAB) == 40
    y = torch.as_tensor(image.y)[None]
    assert source_units(torch.as_tensor(image.tokens)[None], y, torch.zeros_like(y, dtype=torch.bool),
                        VOCAB).tolist() == [9]


def test_eos_bias_makes_a_tiny_model_stop_earlier(model):
    memory, pad = _memory(model, MIDI)

    def lengths(bias: float) -> list[int]:
        options = DecodingOptions(max_steps=40, eos_bias=bias, **OFF)
        return [len(r.steps) for r in generate_target(model, memory, pad, MIDI, VOCAB, options)]

    base, sooner, never = lengths(0.0), lengths(8.0), lengths(-1e4)
    assert never == [40, 40, 40]
    assert all(a <= b for a, b in zip(sooner, base, strict=True)) and sum(sooner) < sum(base)
    assert lengths(1e4) == [1, 1, 1]  # a MIDI target keeps its EOS step


def test_generate_reports_ends_and_the_options_are_validated():
    model = tiny_model(seed=1)
    b = 2
    memory = model.encode(torch.ones(b, 3, 4, dtype=torch.long), torch.arange(3).expand(b, 3),
                          torch.zeros(b, 3, dtype=torch.long), torch.zeros(b, dtype=torch.long),
                          torch.ones(b, dtype=torch.long), torch.zeros(b, 3, dtype=torch.bool))
    masks = torch.zeros(4, 40, dtype=torch.bool)
    masks[0, 9] = masks[1:, 0] = True  # one id only: a period-1 loop
    pad = torch.zeros(b, 3, dtype=torch.bool)
    sos = torch.tensor([1, 0, 0, 0])
    gen = generate(model, memory, pad, 1, sos, 2, masks, DecodingOptions(max_steps=20, loop_repeats=4),
                   row_limits=torch.tensor([3, 50]))
    assert gen.ends == ("source_length", "loop") and gen.lengths == (3, 4)
    assert gen.tokens.shape[1] == 4 and (gen.tokens[0, 3:] == 0).all()
    out = generate(model, memory, pad, 1, sos, 2, masks, DecodingOptions(max_steps=20, loop_repeats=0)).tokens
    assert out.shape[1] == 20
    for bad in (dict(eos_bias=float("inf")), dict(loop_repeats=1), dict(loop_repeats=-2), dict(loop_max_period=0)):
        with pytest.raises(ValueError):
            DecodingOptions(**bad)
    assert end_counts(["loop", "eos", None, "loop"]) == {"eos": 1, "loop": 2, "source_length": 0, "max_steps": 0}
    assert tuple(end_counts([])) == END_REASONS


def test_cli_flags_set_the_stop_options():
    import argparse

    from scorebridge.cli.common import add_decoding_options, decoding_options
    from scorebridge.errors import ScorebridgeError

    parser = argparse.ArgumentParser()
    add_decoding_options(parser)
    options = decoding_options(parser.parse_args(["--eos-bias", "2.5", "--loop-repeats", "0", "--loop-max-period",
                                                  "4", "--no-source-bound"]))
    assert (options.eos_bias, options.loop_repeats, options.loop_max_period, options.source_bound) == (2.5, 0, 4,
                                                                                                        False)
    assert decoding_options(parser.parse_args([])) == DecodingOptions()
    with pytest.raises(ScorebridgeError, match="loop_repeats"):
        decoding_options(parser.parse_args(["--loop-repeats", "1"]))
