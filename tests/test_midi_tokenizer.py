"""Encoding one window, decoding one window, stitching, window planning; synthetic edge cases round trip."""

from __future__ import annotations

import logging

import pytest

from scorebridge.midi import (
    DecodedWindow,
    MidiEventConfig,
    MidiTokenizer,
    Note,
    NoteSegment,
    Window,
    plan_windows,
    resolve_overlaps,
)
from scorebridge.midi.roundtrip import compare_notes

TOK = MidiTokenizer()


def words(tokens):
    return TOK.describe(tokens).split()


# plan_windows -------------------------------------------------------------------------------------
def test_plan_windows_covers_the_duration_in_whole_windows():
    assert plan_windows(0) == []
    assert plan_windows(1) == [Window(0, 1000)]
    assert plan_windows(1000) == [Window(0, 1000)]  # an offset exactly at 1000 is encoded in window 0
    assert plan_windows(2001, 1000) == [Window(0, 1000), Window(1000, 2000), Window(2000, 3000)]
    with pytest.raises(ValueError):
        plan_windows(10, 0)


# encode_window ------------------------------------------------------------------------------------
def test_encode_window_simple_note():
    tokens = TOK.encode_window([Note(120, 450, 60, 90)], 0, 1000)
    assert words(tokens) == ["tie", "shift:12", "program:0", "velocity:1", "pitch:60",
                             "shift:45", "velocity:0", "pitch:60", "<eos>"]


def test_encode_window_ties_held_notes_and_leaves_crossing_notes_open():
    notes = [Note(0, 25_000, 48), Note(9_000, 12_000, 60), Note(12_000, 20_500, 64, program=40)]
    w1 = words(TOK.encode_window(notes, 1000, 2000))
    # held at t0: 48 (program 0) and 60; 60 ends at 12 s = shift 200; 64 starts at 12 s; nothing else ends
    assert w1 == ["program:0", "pitch:48", "pitch:60", "tie", "shift:200", "velocity:0", "pitch:60",
                  "program:40", "velocity:1", "pitch:64", "<eos>"]


def test_window_boundaries_offset_at_t1_belongs_to_the_window_onset_at_t1_does_not():
    notes = [Note(500, 10_000, 60), Note(10_000, 10_500, 62)]
    w0 = words(TOK.encode_window(notes, 0, 1000))
    w1 = words(TOK.encode_window(notes, 1000, 2000))
    assert w0[-3:] == ["velocity:0", "pitch:60", "<eos>"] and "shift:1000" in w0 and "pitch:62" not in w0
    assert w1[0] == "tie" and w1.count("pitch:60") == 0  # not tied: it ended exactly at the boundary


def test_encode_window_rejects_windows_longer_than_the_shift_range():
    with pytest.raises(ValueError):
        TOK.encode_window([Note(0, 10, 60)], 0, 1001)
    with pytest.raises(ValueError):
        TOK.encode_window([Note(0, 10, 60)], 5, 5)


def test_drums_are_onset_only_and_never_tied():
    notes = [Note(9_990, 12_000, 36, is_drum=True), Note(10_500, 10_600, 42, 80, is_drum=True)]
    assert words(TOK.encode_window(notes, 0, 1000)) == ["tie", "shift:999", "velocity:1", "drum:36", "<eos>"]
    assert words(TOK.encode_window(notes, 1000, 2000)) == ["tie", "shift:50", "velocity:1", "drum:42",
                                                           "<eos>"]


def test_encode_notes_equals_encode_window_per_window():
    notes = [Note(i * 370, i * 370 + 2_500, 40 + i % 30, program=i % 3) for i in range(80)]
    windows = TOK.encode_notes(notes)
    assert len(windows) == len(plan_windows((79 * 370 + 2_500) // 10))
    for k, tokens in enumerate(windows):
        assert tokens == TOK.encode_window(notes, k * 1000, (k + 1) * 1000)
    assert TOK.encode_notes([]) == []
    with pytest.raises(ValueError):
        TOK.encode_notes(notes, window_s=11)


# decode_window ------------------------------------------------------------------------------------
def test_decode_window_reports_ties_and_open_notes():
    notes = [Note(0, 25_000, 48), Note(12_000, 20_500, 64, program=40), Note(11_000, 11_500, 70)]
    d = TOK.decode_window(TOK.encode_window(notes, 1000, 2000), 1000)
    assert d.ties == ((0, 48),) and d.problems == ()
    assert NoteSegment(48, 0, False, None, None, None) in d.segments  # tied and still open
    assert NoteSegment(64, 40, False, 127, 1200, None) in d.segments  # started, still open
    assert NoteSegment(70, 0, False, 127, 1100, 1150) in d.segments


def test_decode_window_repairs_malformed_output_without_raising(caplog):
    v = TOK.vocab
    tokens = [v.shift(5), v.pitch(60), v.velocity(0), v.pitch(61), 99_999, v.tie, v.tie,
              v.velocity(1), v.shift(3), v.pitch(62), v.eos, v.pitch(63)]
    with caplog.at_level(logging.DEBUG):
        d = TOK.decode_window(tokens, 0)
    # shift before the tie, no program, no velocity, offset of a silent key, unknown id, two late ties,
    # time going back
    assert len(d.problems) == 8
    assert {s.pitch for s in d.segments} == {60, 62}  # nothing after EOS, the bad offset ignored
    assert "not sounding" in caplog.text


# stitch -------------------------------------------------------------------------------------------
def seg(pitch, onset, offset, velocity=127):
    return NoteSegment(pitch, 0, False, velocity if onset is not None else None, onset, offset)


def test_stitch_continues_tied_notes_across_windows():
    w0 = DecodedWindow(0, 1000, (), (seg(60, 10, None),))
    w1 = DecodedWindow(1000, 2000, ((0, 60),), (seg(60, None, None),))
    w2 = DecodedWindow(2000, 3000, ((0, 60),), (seg(60, None, 2500), seg(60, 2600, 2700)))
    assert TOK.stitch([w0, w1, w2]) == [Note(100, 25_000, 60, 127), Note(26_000, 27_000, 60, 127)]


def test_stitch_repairs_untied_open_notes_orphan_ties_and_unclosed_ends(caplog):
    w0 = DecodedWindow(0, 1000, (), (seg(60, 10, None), seg(62, 20, None)))
    w1 = DecodedWindow(1000, 2000, ((0, 62), (0, 64)), (seg(62, None, None), seg(64, None, 1100)))
    with caplog.at_level(logging.WARNING):
        notes = TOK.stitch([w0, w1])
    assert notes == [Note(100, 10_000, 60, 127),  # not tied into w1: ends at its start
                     Note(200, 20_000, 62, 127),  # still open after the last window: ends at its end
                     Note(10_000, 11_000, 64, 127)]  # a tie continuing nothing starts at the window start
    assert "repaired 3" in caplog.text


# round trips of edge cases ------------------------------------------------------------------------
EDGE_CASES = {
    "empty window in the middle": [Note(100, 200, 60), Note(25_000, 26_000, 60)],
    "note on each boundary": [Note(0, 10_000, 60), Note(10_000, 20_000, 60), Note(20_000, 20_001, 61)],
    "long note over three windows": [Note(5_000, 35_000, 21), Note(15_000, 16_000, 22)],
    "sub-tick notes": [Note(1003, 1004, 60), Note(1005, 1006, 62), Note(2000, 2000, 64),
                       Note(2994, 2996, 65)],
    "re-struck before release": [Note(0, 3_000, 60), Note(1_000, 2_000, 60), Note(9_999, 10_700, 60),
                                 Note(10_200, 10_300, 60)],
    "same-tick re-strike": [Note(1000, 2000, 60, 50), Note(1003, 1500, 60, 90)],
    "several programs and drums": [Note(0, 900, 60, program=0), Note(0, 1100, 60, program=33),
                                   Note(50, 60, 38, is_drum=True), Note(9_995, 12_000, 60, program=33)],
    "dense chord": [Note(500, 13_000, p) for p in range(21, 109)],
}


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_edge_cases_round_trip_within_10_ms(name):
    notes = EDGE_CASES[name]
    decoded = TOK.decode_windows(TOK.encode_notes(notes))
    result = compare_notes(resolve_overlaps(notes), decoded)  # a re-struck key ends the sounding note
    assert result.all_matched, result.mismatches
    assert len(decoded) == len(notes)


@pytest.mark.parametrize("bins", [4, 32])
def test_velocity_bins_survive_the_round_trip(bins):
    tok = MidiTokenizer(MidiEventConfig(velocity_bins=bins))
    notes = [Note(i * 100, i * 100 + 50, 60 + i, velocity=1 + i * 9) for i in range(15)]
    decoded = tok.decode_windows(tok.encode_notes(notes))
    for a, b in zip(notes, decoded, strict=True):
        assert tok.vocab.velocity_to_bin(a.velocity) == tok.vocab.velocity_to_bin(b.velocity)


def test_shorter_windows_and_shift_ranges():
    tok = MidiTokenizer(MidiEventConfig(max_shift_steps=501))
    notes = [Note(0, 12_345, 60), Note(4_990, 5_010, 62)]
    windows = tok.encode_notes(notes, window_s=5)
    assert len(windows) == 3
    assert compare_notes(notes, tok.decode_windows(windows, window_s=5)).all_matched
