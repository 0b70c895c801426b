"""The event vocabulary: sizes, contiguous ranges, specials, readable strings, velocity bins."""

from __future__ import annotations

import pytest

from scorebridge.midi import MidiEventConfig, MidiTokenizer, MidiVocab
from scorebridge.midi.vocab import EventType


def test_default_vocabulary_matches_the_reference_layout():
    v = MidiVocab()
    assert v.vocab_size == 3 + 1001 + 387 == 1391
    assert (v.pad, v.eos, v.unk) == (0, 1, 2)
    assert v.shift(0) == 3 and v.shift(1000) == 1003
    assert v.pitch(0) == 1004 and v.velocity(0) == 1132 and v.velocity(1) == 1133
    assert v.tie == 1134 and v.program(0) == 1135 and v.drum(127) == 1390


def test_ranges_are_contiguous_and_cover_every_id():
    v = MidiVocab(MidiEventConfig(max_shift_steps=201, velocity_bins=8))
    ids = []
    for kind in EventType:
        ids.extend(v.range_of(kind))
    assert ids == list(range(v.vocab_size))
    assert v.vocab_size == 3 + 201 + 128 + 9 + 1 + 128 + 128


def test_every_token_has_a_string_that_maps_back():
    v = MidiVocab(MidiEventConfig(velocity_bins=4))
    for token in range(v.vocab_size):
        assert v.string_to_token(v.token_to_string(token)) == token
    assert v.describe([v.tie, v.shift(12), v.pitch(60), v.eos]) == "tie shift:12 pitch:60 <eos>"
    assert v.token_to_string(10**6) == "<unk>"


@pytest.mark.parametrize("kwargs", [dict(max_shift_steps=1), dict(velocity_bins=0), dict(velocity_bins=128),
                                    dict(max_shift_steps=10.5)])
def test_config_is_validated(kwargs):
    with pytest.raises(ValueError):
        MidiEventConfig(**kwargs)


def test_out_of_range_values_are_rejected():
    v = MidiVocab()
    with pytest.raises(ValueError):
        v.shift(1001)
    with pytest.raises(ValueError):
        v.velocity(2)


@pytest.mark.parametrize("bins", [1, 3, 16, 127])
def test_velocity_bins_round_trip_and_zero_is_off(bins):
    v = MidiVocab(MidiEventConfig(velocity_bins=bins))
    assert v.velocity_to_bin(0) == 0
    assert {v.velocity_to_bin(x) for x in range(1, 128)} == set(range(1, bins + 1))
    for b in range(1, bins + 1):
        assert 1 <= v.bin_to_velocity(b) <= 127 and v.velocity_to_bin(v.bin_to_velocity(b)) == b


def test_tokenizer_exposes_specials_as_properties():
    tok = MidiTokenizer()
    assert (tok.pad, tok.eos, tok.unk, tok.tie, tok.vocab_size) == (0, 1, 2, 1134, 1391)
    assert tok.token_to_string(tok.tie) == "tie"
