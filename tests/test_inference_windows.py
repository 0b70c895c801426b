"""inference.windows: window plans, cut and prefix rules on synthetic attention, alignment spans, LMX joining,
and MIDI windows whose notes tie across the boundary stitched back into one note."""

from __future__ import annotations

import numpy as np
import pytest

from scorebridge.constants import AUDIO_SAMPLE_RATE
from scorebridge.inference.windows import (
    AlignmentSpan,
    CutRule,
    Span,
    alignment_spans,
    find_cut,
    join_system_lmx,
    kept_frames,
    measure_ranges,
    ms_to_samples,
    plan_midi_windows,
    plan_spans,
    prefix_length,
    source_spans,
    system_windows,
)
from scorebridge.midi import MidiTokenizer, Note
from scorebridge.notation import delinearize


def test_35_seconds_make_4_windows_in_samples() -> None:
    window = ms_to_samples(10_000, AUDIO_SAMPLE_RATE)
    spans = plan_spans(35 * AUDIO_SAMPLE_RATE, window)
    assert len(spans) == 4 and window == 441_000
    assert spans[0] == Span(0, window) and spans[-1] == Span(3 * window, 35 * AUDIO_SAMPLE_RATE)
    assert all(a.end == b.start for a, b in zip(spans, spans[1:], strict=False))
    assert plan_spans(0, window) == [] and len(plan_spans(window, window)) == 1
    with pytest.raises(ValueError, match="whole number"):
        ms_to_samples(1, 22_050)


def test_midi_windows_overlap_and_cover() -> None:
    assert [(w.start, w.end) for w in plan_midi_windows(2500, 1000)] == [(0, 1000), (1000, 2000), (2000, 3000)]
    windows = plan_midi_windows(2500, 1000, 200)
    assert [(w.start, w.end) for w in windows] == [(0, 1000), (800, 1800), (1600, 2600)]
    assert len(plan_midi_windows(1000, 1000, 200)) == 1 and plan_midi_windows(0, 1000, 200) == []
    with pytest.raises(ValueError):
        plan_midi_windows(100, 1000, 1000)


def test_kept_frames_never_drift() -> None:
    hop = 512
    starts = [k * 8 * AUDIO_SAMPLE_RATE for k in range(50)]  # 8 s strides: 689.0625 frames each
    keep = kept_frames(starts, hop)
    assert len(keep) == 49 and set(keep) <= {689, 690}
    assert sum(keep) == starts[-1] // hop


def test_system_windows() -> None:
    assert system_windows(0) == []
    assert system_windows(1) == [(0,)]
    assert system_windows(4) == [(0, 1), (1, 2), (2, 3), (3,)]


def test_source_spans() -> None:
    sep = 3
    ids = [9, 9, 9, sep, 8, 8, sep, 7]
    assert source_spans(ids, sep) == [Span(0, 3), Span(4, 6), Span(7, 8)]


def _attention(switch: int, steps: int = 40, first: int = 6, second: int = 4, noise: int = -1) -> np.ndarray:
    """Attention on system 1 (source steps 0..5) before ``switch``, on system 2 (7..10) from it; a one-step
    blip on system 2 at ``noise``."""
    att = np.zeros((steps, first + 1 + second))
    att[:switch, :first] = 1 / first
    att[switch:, first + 1:] = 1 / second
    if noise >= 0:
        att[noise] = 0
        att[noise, first + 1:] = 1 / second
    return att


def test_cut_rule_on_synthetic_attention() -> None:
    second = Span(7, 11)
    rule = CutRule(threshold=0.5, run=3, back=10)
    assert find_cut(_attention(25), second, rule) == 15
    assert find_cut(_attention(25), second, CutRule(back=0)) == 25
    # a blip shorter than the run does not count
    assert find_cut(_attention(25, noise=5), second, CutRule(back=0)) == 25
    # never: keep everything; the cut never goes below min_step (a forced prefix)
    assert find_cut(_attention(40), second, rule) == 40
    assert find_cut(_attention(12), second, rule, min_step=8) == 8
    assert find_cut(_attention(5), second, rule) == 0
    # argmax would say the same for a soft switch: mass crosses 0.5 where the second system dominates
    soft = np.linspace(0, 1, 40)[:, None] * np.r_[np.zeros(7), np.full(4, 0.25)] + \
        (1 - np.linspace(0, 1, 40))[:, None] * np.r_[np.full(6, 1 / 6), np.zeros(5)]
    assert find_cut(soft, second, CutRule(back=0)) == 20
    with pytest.raises(ValueError):
        CutRule(threshold=0)


def test_prefix_rule() -> None:
    codes_after_cut = 47
    assert prefix_length(codes_after_cut) == 9
    assert prefix_length(4) == 0 and prefix_length(0) == 0
    assert prefix_length(10, divisor=2) == 5


def test_alignment_spans_are_contiguous() -> None:
    spans = alignment_spans([10, 0, 7, 3], 512, measures=[(0, 4), (4, 8), None, (8, 9)])
    assert spans[0] == AlignmentSpan(0, (0, 4), 0, 5120)
    assert all(a.end == b.start for a, b in zip(spans, spans[1:], strict=False))
    assert spans[1].start == spans[1].end and spans[-1].end == 20 * 512
    assert [s.system for s in spans] == [0, 1, 2, 3]
    js = spans[2].to_json(sample_rate=512)
    assert js == {"system": 2, "measures": None, "start_sample": 5120, "end_sample": 8704, "start_s": 10.0,
                  "end_s": 17.0}
    with pytest.raises(ValueError):
        alignment_spans([1, 2], 512, measures=[None])


SYSTEM_1 = ("measure key:fifths:1 time beats:3 beat-type:4 clef:G2 staff:1 clef:F4 staff:2 "
            "D5 voice:1 half dot staff:1").split()
SYSTEM_2 = "measure key:fifths:1 clef:G2 staff:1 clef:F4 staff:2 E5 voice:1 half dot staff:1".split()
SYSTEM_3 = "measure key:fifths:2 clef:G2 staff:1 clef:G2 staff:2 F5 voice:1 half dot staff:1".split()


def test_join_system_lmx_drops_restated_attributes() -> None:
    joined = join_system_lmx([SYSTEM_1, SYSTEM_2, SYSTEM_3])
    n = len(SYSTEM_1)
    assert joined[:n] == SYSTEM_1
    assert joined[n:n + 6] == ["measure", "E5", "voice:1", "half", "dot", "staff:1"]
    assert joined[n + 6:] == ["measure", "key:fifths:2", "clef:G2", "staff:2", "F5", "voice:1", "half", "dot",
                              "staff:1"]  # the key and the clef that change stay
    assert join_system_lmx([SYSTEM_2]) == SYSTEM_2
    assert measure_ranges([SYSTEM_1, SYSTEM_2, SYSTEM_3]) == [(0, 1), (1, 2), (2, 3)]
    measures = delinearize(joined).findall("measure")
    assert len(measures) == 3
    assert measures[1].find("attributes") is None
    assert measures[2].find("attributes/key/fifths").text == "2"


def test_notes_tied_across_windows_come_out_as_one_note() -> None:
    tokenizer = MidiTokenizer()
    notes = [Note(9_500, 10_700, 60, 80), Note(2_000, 2_500, 64, 90), Note(12_000, 12_300, 67, 70)]
    token_windows = tokenizer.encode_notes(notes)
    assert len(token_windows) == 2
    assert tokenizer.tie in token_windows[1] and token_windows[1].index(tokenizer.tie) > 0  # 60 tied
    # what longform.transcribe does: decode each window at its start tick, then stitch
    decoded = [tokenizer.decode_window(t, k * 1000, (k + 1) * 1000) for k, t in enumerate(token_windows)]
    stitched = tokenizer.stitch(decoded)
    assert [(n.onset, n.offset, n.pitch) for n in stitched] == [(2000, 2500, 64), (9500, 10700, 60),
                                                                (12000, 12300, 67)]
