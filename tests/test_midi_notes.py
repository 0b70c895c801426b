"""Note validation, the 10 ms grid, sustain-pedal extension and re-strike resolution."""

from __future__ import annotations

import pytest

from scorebridge.midi import (
    Note,
    PedalSpan,
    apply_sustain_pedal,
    pedal_spans,
    quantize_notes,
    resolve_overlaps,
)
from scorebridge.midi.notes import ms_to_tick, tick_to_ms
from scorebridge.midi.quantize import quantize_note


@pytest.mark.parametrize("kwargs", [
    dict(onset=0, offset=10, pitch=128), dict(onset=0, offset=10, pitch=-1),
    dict(onset=0, offset=10, pitch=60, velocity=0),
    dict(onset=0, offset=10, pitch=60, program=128), dict(onset=10, offset=9, pitch=60),
    dict(onset=-1, offset=9, pitch=60),
])
def test_note_rejects_bad_values(kwargs):
    with pytest.raises(ValueError):
        Note(**kwargs)


def test_note_sorts_by_onset_then_pitch():
    a, b, c = Note(0, 500, 64), Note(0, 100, 60), Note(10, 20, 10)
    assert sorted([c, a, b]) == [b, a, c]
    assert a.onset_s == 0 and a.offset_s == 0.5


def test_ms_to_tick_rounds_half_up_and_tick_to_ms_is_exact():
    assert [ms_to_tick(ms) for ms in (0, 4, 5, 14, 15, 1000)] == [0, 0, 1, 1, 2, 100]
    assert tick_to_ms(123) == 1230


def test_pedal_spans_from_cc64_changes():
    changes = [(100, 127), (150, 100), (300, 0), (400, 64), (500, 63), (600, 70)]
    assert pedal_spans(changes, end=900) == [PedalSpan(100, 300), PedalSpan(400, 500), PedalSpan(600, 900)]
    assert pedal_spans([(10, 0)], end=100) == []


def test_sustain_extends_offsets_inside_a_span_to_the_release():
    notes = [Note(0, 200, 60), Note(50, 90, 64), Note(0, 600, 67), Note(400, 450, 72)]
    out = apply_sustain_pedal(notes, [PedalSpan(100, 500)])
    assert out == sorted([Note(0, 500, 60), Note(50, 90, 64), Note(0, 600, 67), Note(400, 500, 72)])


def test_sustain_restrike_ends_the_sustained_note():
    notes = [Note(0, 150, 60), Note(300, 350, 60)]
    out = apply_sustain_pedal(notes, [PedalSpan(100, 1000)])
    assert out == [Note(0, 300, 60), Note(300, 1000, 60)]


def test_sustain_never_shortens_and_leaves_drums_alone():
    overlapping = [Note(0, 500, 60), Note(200, 300, 60)]  # already overlapping in the input
    assert apply_sustain_pedal(overlapping, [PedalSpan(400, 900)])[0] == Note(0, 500, 60)
    drum = Note(0, 10, 36, is_drum=True)
    assert apply_sustain_pedal([drum], [PedalSpan(0, 900)]) == [drum]


def test_resolve_overlaps_ends_a_note_at_the_next_onset_of_its_key():
    notes = [Note(0, 500, 60), Note(200, 300, 60), Note(0, 500, 60, program=1), Note(100, 200, 62)]
    out = resolve_overlaps(notes)
    assert Note(0, 200, 60) in out and Note(200, 300, 60) in out
    assert Note(0, 500, 60, program=1) in out and len(out) == 4


def test_quantize_widens_short_notes_within_10_ms():
    q = quantize_note(Note(5, 6, 60))  # both ends round to tick 1
    assert (q.onset, q.offset) == (0, 1)
    q = quantize_note(Note(1000, 1000, 60))  # zero length on a tick boundary
    assert (q.onset, q.offset) == (100, 101)
    assert quantize_note(Note(1234, 5678, 60)).offset == 568
    drum = quantize_note(Note(1234, 1300, 36, is_drum=True))
    assert (drum.onset, drum.offset) == (123, 124)


def test_quantize_same_tick_restrike_keeps_both_notes():
    q = quantize_notes([Note(1000, 2000, 60), Note(1003, 1500, 60)])
    assert [(n.onset, n.offset) for n in q] == [(100, 100), (100, 150)]
