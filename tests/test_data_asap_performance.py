"""Pure functions of data.performance on synthetic data: annotations, time maps, measures, spans, notes, check."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from fractions import Fraction

import pytest

from scorebridge.data.contract import PieceRejected
from scorebridge.data.cutting import NoteCut, cut_notes, long_windows
from scorebridge.data.performance import (
    Beat,
    TimeMap,
    align_measures,
    anchor_downbeats,
    beat_time_map,
    check_notes,
    measure_lengths,
    measure_spans,
    parse_annotations,
    pitch_f1,
    play_order,
    score_clock,
    score_plays,
)
from scorebridge.errors import InputError
from scorebridge.midi import Note

# -- annotations


def test_parse_annotations_reads_beats_changes_and_irregular_beats() -> None:
    text = "0.5\t0.5\tb,,0\n1.0\t1.0\tdb,4/4\n1.5005\t1.5005\tbR\n\n2.0\t2.0\tdb,3/4,-2\n"
    beats = parse_annotations(text)
    assert beats == (Beat(500, False, None, 0), Beat(1000, True, "4/4"), Beat(1500, False), Beat(2000, True, "3/4", -2))


@pytest.mark.parametrize(("line", "problem"), [
    ("1.0\t1.0", "expected 3 tab-separated fields"),
    ("x\t1.0\tb", "is not a number"),
    ("-1\t-1\tb", "finite time >= 0"),
    ("1.0\t1.0\tbeat", "is not b|bR|db"),
    ("1.0\t1.0\tdb,4-4", "bad time signature"),
    ("1.0\t1.0\tdb,4/4,G", "is not a number of sharps"),
])
def test_parse_annotations_names_the_bad_line(line: str, problem: str) -> None:
    with pytest.raises(InputError, match=f"ann.txt: line 2: .*{problem}"):
        parse_annotations("0.5\t0.5\tb\n" + line + "\n", "ann.txt")


def test_parse_annotations_rejects_time_going_back_and_empty() -> None:
    with pytest.raises(InputError, match="goes back"):
        parse_annotations("2\t2\tb\n1\t1\tb\n")
    with pytest.raises(InputError, match="no beats"):
        parse_annotations("\n")


# -- time map


def test_time_map_interpolates_extrapolates_and_clamps() -> None:
    tm = TimeMap((1000, 2000, 4000), (500, 2500, 3500))
    assert [tm(t) for t in (1000, 1500, 2000, 3000, 4000)] == [500, 1500, 2500, 3000, 3500]
    assert tm(5000) == 4000  # slope of the last interval (0.5)
    assert tm(900) == 300  # slope of the first interval (2)
    assert tm(0) == 0  # never below 0
    values = [tm(t) for t in range(0, 6000, 7)]
    assert values == sorted(values)


def test_time_map_needs_increasing_anchors() -> None:
    with pytest.raises(ValueError, match="strictly increasing"):
        TimeMap((0, 1000, 1000), (0, 1, 2))


def test_beat_time_map_rejects_mismatched_beat_lists() -> None:
    score = [Beat(0, True), Beat(500, False), Beat(1000, True)]
    assert beat_time_map(score, [Beat(100, True), Beat(700, False), Beat(1300, True)])(750) == 1000
    with pytest.raises(PieceRejected, match="2 performance beats for 3 score beats"):
        beat_time_map(score, score[:2])
    with pytest.raises(PieceRejected, match="downbeat pattern differs .* beat 1"):
        beat_time_map(score, [Beat(0, True), Beat(500, True), Beat(1000, True)])
    with pytest.raises(PieceRejected, match="cannot be mapped"):
        beat_time_map(score, [Beat(0, True), Beat(0, False), Beat(1000, True)])


def test_score_clock_follows_tempo_changes() -> None:
    clock = score_clock([(0.0, 120.0), (2.0, 60.0)])  # 4 quarters at 500 ms, then 1000 ms per quarter
    assert clock.ms(Fraction(2)) == 1000
    assert clock.ms(Fraction(4)) == 2000
    assert clock.ms(Fraction(5)) == 3000
    assert clock.ms(Fraction(9, 2)) == 2500


# -- measures and play order


def _part(measures: list[str], divisions: int = 1, time: str = "4/4") -> ET.Element:
    beats, beat_type = time.split("/")
    head = (f"<attributes><divisions>{divisions}</divisions><time><beats>{beats}</beats>"
            f"<beat-type>{beat_type}</beat-type></time></attributes>")
    body = "".join(f'<measure number="{i + 1}">{head if i == 0 else ""}{m}</measure>' for i, m in enumerate(measures))
    return ET.fromstring(f'<part id="P1">{body}</part>')


def _notes(quarters: int) -> str:
    return "<note><pitch><step>C</step><octave>4</octave></pitch><duration>1</duration></note>" * quarters


FWD = '<barline location="left"><repeat direction="forward"/></barline>'
BWD = '<barline location="right"><repeat direction="backward"/></barline>'


def _ending(number: str, kind: str) -> str:
    return f'<barline><ending number="{number}" type="{kind}"/></barline>'


def test_measure_lengths_use_content_capped_by_the_time_signature() -> None:
    chord = "<note><chord/><pitch><step>E</step><octave>4</octave></pitch><duration>1</duration></note>"
    grace = "<note><grace/><pitch><step>D</step><octave>4</octave></pitch></note>"
    backup = "<backup><duration>4</duration></backup>"
    part = _part([_notes(1) + chord + grace, _notes(4) + backup + _notes(2), "", _notes(5)])
    assert measure_lengths(part) == [Fraction(1), Fraction(4), Fraction(4), Fraction(4)]


def test_play_order_unfolds_repeats_and_endings() -> None:
    m = _notes(4)
    part = _part([m, FWD + m, _ending("1", "start") + m + BWD + _ending("1", "stop"),
                  _ending("2", "start") + m + _ending("2", "discontinue"), m + BWD, m])
    # 0 | 1 [1. 2 :|] [2. 3] 4 :| 5  -- the second backward repeat goes back to after the first one
    assert play_order(part) == [0, 1, 2, 1, 3, 4, 3, 4, 5]


def test_play_order_repeat_to_start_and_times() -> None:
    m = _notes(4)
    part = _part([m, m + '<barline location="right"><repeat direction="backward" times="3"/></barline>', m])
    assert play_order(part) == [0, 1, 0, 1, 0, 1, 2]


def test_play_order_rejects_da_capo() -> None:
    part = _part([_notes(4), _notes(4) + '<direction><sound dacapo="yes"/></direction>'])
    with pytest.raises(PieceRejected, match="dacapo"):
        play_order(part)


def test_anchor_downbeats_snaps_and_rejects() -> None:
    plays = [(0, 0, 1000), (1, 1000, 2000), (2, 2000, 3000), (3, 3000, 4000)]
    snapped = anchor_downbeats(plays, [1100, 2100, 3000])  # a fermata in the MIDI score delays measure 1
    assert snapped == [(0, 0, 1100), (1, 1100, 2100), (2, 2100, 3000), (3, 3000, 4000)]
    assert "is not the start of a measure" in anchor_downbeats(plays, [1000, 2500, 3000])
    assert "after the last measure" in anchor_downbeats(plays, [1000, 2000, 3000, 4000])
    assert "end 2 measures before" in anchor_downbeats(plays + [(4, 4000, 5000)], [1000, 2000])


def test_align_measures_with_pickup_and_repeat() -> None:
    m = _notes(4)
    # pickup of one quarter, then |: 1 2 :| 3 ; 120 bpm: a quarter is 500 ms
    part = _part([_notes(1), FWD + m, m + BWD, m])
    clock = score_clock([(0.0, 120.0)])
    order = play_order(part)
    assert order == [0, 1, 2, 1, 2, 3]
    assert [p[1] for p in score_plays(order, measure_lengths(part), clock)] == [0, 500, 2500, 4500, 6500, 8500]
    score = [Beat(0, False)] + [Beat(500 + 500 * i, i % 4 == 0) for i in range(20)]
    performance = [Beat(2 * b.time_ms + 100, b.downbeat) for b in score]  # half speed, 100 ms late
    alignment = align_measures(part, clock, score, performance, lead_ms=0)
    assert alignment.unfolded
    assert [(p.measure, p.start_ms, p.end_ms) for p in alignment.plays] == [
        (0, 100, 1100), (1, 1100, 5100), (2, 5100, 9100), (1, 9100, 13100), (2, 13100, 17100), (3, 17100, 21100)]
    spans = measure_spans(alignment, 1, 3)
    assert [(s.start_ms, s.end_ms, s.first_play) for s in spans] == [(1100, 9100, 1), (9100, 17100, 3)]
    assert measure_spans(alignment, 2, 4) == [measure_spans(alignment, 2, 4)[0]]  # 2-3 only in a row once
    assert measure_spans(alignment, 0, 3)[0].start_ms == 100
    early = align_measures(part, clock, score, performance)  # the default lead: boundaries 50 ms earlier
    assert [(p.start_ms, p.end_ms) for p in early.plays][:2] == [(50, 1050), (1050, 5050)]
    three = [Beat(b.time_ms, i % 3 == 1) for i, b in enumerate(score)]  # downbeats every 3 beats: not this score
    with pytest.raises(PieceRejected, match="do not match the score annotations"):
        align_measures(part, clock, three, [Beat(2 * b.time_ms, b.downbeat) for b in three])


# -- notes


def test_span_notes_keeps_onsets_inside_and_cuts_at_the_end() -> None:
    notes = [Note(0, 1500, 60), Note(1000, 1200, 62), Note(1900, 2600, 64), Note(2000, 2100, 65)]
    assert cut_notes(notes, 1000, 2000, tied=False) == NoteCut((Note(0, 200, 62), Note(900, 1000, 64)), ())


def test_window_notes_ties_in_sounding_notes() -> None:
    notes = [Note(0, 1500, 60), Note(500, 1000, 61), Note(1000, 1200, 62)]
    cut = cut_notes(notes, 1000, 2000)
    assert cut.notes == (Note(0, 200, 62), Note(0, 500, 60))
    assert cut.tied_in == (1,)


def test_long_windows_keep_a_last_partial_window_of_a_second() -> None:
    assert long_windows(25_000, 10_000) == [(0, 10_000), (10_000, 20_000), (20_000, 25_000)]
    assert long_windows(20_900, 10_000, min_last_ms=1000) == [(0, 10_000), (10_000, 20_000)]
    assert long_windows(500, 10_000, min_last_ms=1000) == []
    assert long_windows(20_900, 10_000)[-1] == (20_000, 20_900)  # by default any last window is kept


def test_check_counts_and_pitch_multisets() -> None:
    score = [Note(i * 100, i * 100 + 50, 60 + i % 12) for i in range(40)]
    assert check_notes(score, score).ok
    assert pitch_f1(score, score[:20]) == pytest.approx(2 * 20 / 60)
    extra = score + [Note(0, 10, 90), Note(0, 10, 91)]  # 42 / 40 = +5%: still within
    assert check_notes(extra, score).ok
    too_many = extra + [Note(0, 10, 92)]
    assert not check_notes(too_many, score).ok
    assert "43 performance notes for 40 score notes" in (check_notes(too_many, score).reason or "")
    wrong = [Note(n.onset, n.offset, n.pitch + 13) for n in score]  # right count, wrong pitches
    assert not check_notes(wrong, score).ok
    assert check_notes([], []).ok and not check_notes([Note(0, 1, 60)], []).ok
